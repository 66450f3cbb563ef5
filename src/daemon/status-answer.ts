import type { Reply } from '../control/server.js';
import type { ServiceStatus, StatusReport, StatusServicesLine } from '../status/status-report.js';
import { LoopSlicer } from '../time/loop-slice.js';

/** Reals (and services) per `more` line: about 200 KB of JSON, 1–2 ms to encode. */
const ENTRIES_PER_LINE = 1000;

/**
 * Sends `report`'s services through `reply` in pieces, a turn of the event
 * loop between them, and returns what is left to answer. At 1,000 services
 * × 32 reals the whole report is 6–10 MB of JSON: 35–55 ms of
 * JSON.stringify in one turn, which VRRP's timers would wait for.
 */
export async function sendStatus(report: StatusReport, reply: Reply): Promise<StatusReport> {
  const slicer = new LoopSlicer();
  let piece: ServiceStatus[] = [];
  let entries = 0;
  for (const service of report.services) {
    piece.push(service);
    entries += 1 + service.reals.length;
    if (entries < ENTRIES_PER_LINE) continue;
    const line: StatusServicesLine = { services: piece };
    await reply.more(line);
    piece = [];
    entries = 0;
    await slicer.nextSlice();
  }
  return { ...report, services: piece };
}
