/**
 * Which kernel IPVS services this lbctl instance created. IPVS has no field
 * to tag a service with, so the instance keeps the list in a small file
 * under the run directory (tmpfs: it goes at reboot together with the
 * kernel's table). A service is recorded before it is created and forgotten
 * after it is deleted, so a crash in between leaves at worst a recorded key
 * with no service, which the next start drops. Services not listed belong to
 * someone else (ipvsadm, keepalived, another instance) and are never touched.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { LbctlError } from '../../errors.js';
import { type IpvsServiceKey, ipvsKeyName } from './ipvs-netlink.js';

interface OwnershipFile {
  readonly instance: string;
  readonly services: readonly IpvsServiceKey[];
}

export class IpvsOwnership {
  private readonly owned = new Map<string, IpvsServiceKey>();

  private constructor(
    readonly path: string,
    private readonly instance: string,
  ) {}

  /** Reads the record at `path` (none yet: nothing owned). */
  static load(path: string, instance: string): IpvsOwnership {
    const ownership = new IpvsOwnership(path, instance);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return ownership;
      throw err;
    }
    let parsed: OwnershipFile;
    try {
      parsed = JSON.parse(text) as OwnershipFile;
    } catch {
      throw new LbctlError(
        'IPVS_OWNERSHIP_CORRUPT',
        `Cannot read ${path}: it is not the IPVS ownership record lbctl writes (remove it to start over; lbctl then adopts no service)`,
      );
    }
    if (!Array.isArray(parsed.services)) {
      throw new LbctlError('IPVS_OWNERSHIP_CORRUPT', `Cannot read ${path}: it lists no services`);
    }
    for (const key of parsed.services) ownership.owned.set(ipvsKeyName(key), key);
    return ownership;
  }

  owns(key: IpvsServiceKey): boolean {
    return this.owned.has(ipvsKeyName(key));
  }

  keys(): IpvsServiceKey[] {
    return [...this.owned.values()];
  }

  add(key: IpvsServiceKey): void {
    if (this.owns(key)) return;
    this.owned.set(ipvsKeyName(key), key);
    this.save();
  }

  forget(key: IpvsServiceKey): void {
    if (this.owned.delete(ipvsKeyName(key))) this.save();
  }

  /** Drops the record (after every owned service is gone). */
  remove(): void {
    this.owned.clear();
    rmSync(this.path, { force: true });
  }

  private save(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const body: OwnershipFile = { instance: this.instance, services: this.keys() };
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(body)}\n`, { mode: 0o600 });
    renameSync(tmp, this.path);
  }
}
