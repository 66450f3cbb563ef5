import { isIP } from 'node:net';
import { type Command, InvalidArgumentError } from 'commander';
import { type ControlOptions, request, withControlOptions } from './control-client.js';

interface RealOptions extends ControlOptions {
  tcpService?: Endpoint;
  udpService?: Endpoint;
  realServer: Endpoint;
  json?: boolean;
}

interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** ipvsadm's address:port, [v6]:port. */
function endpoint(text: string): Endpoint {
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  const port = Number(match?.[2]);
  if (match === null || isIP(match[1]!) === 0 || !Number.isInteger(port) || port > 65535) {
    throw new InvalidArgumentError(`expected address:port (IPv6 as [address]:port), got '${text}'`);
  }
  return { address: match[1]!, port };
}

function weight(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535)
    throw new InvalidArgumentError(`expected a weight from 0 to 65535, got '${text}'`);
  return n;
}

/**
 * `lbctl real set-weight|quiesce|restore`: runtime changes to one real of a
 * running instance, like `ipvsadm -e -t VIP:PORT -r RIP:PORT -w N`. The next
 * reload puts the configured weights back.
 */
export function registerRealCommand(program: Command): void {
  const real = program
    .command('real')
    .description('change a real server at runtime (until the next reload)');
  const target = (command: Command) =>
    withControlOptions(
      command
        .option('-t, --tcp-service <vip:port>', 'the TCP virtual service', endpoint)
        .option('-u, --udp-service <vip:port>', 'the UDP virtual service', endpoint)
        .requiredOption('-r, --real-server <rip:port>', 'the real server', endpoint)
        .option('--json', 'print the result as JSON'),
    );
  const args = (options: RealOptions) => {
    const service = options.tcpService ?? options.udpService;
    if (
      service === undefined ||
      (options.tcpService !== undefined && options.udpService !== undefined)
    ) {
      throw new InvalidArgumentError(
        'give the service with exactly one of -t/--tcp-service or -u/--udp-service',
      );
    }
    return {
      protocol: options.tcpService !== undefined ? 'tcp' : 'udp',
      vip: service.address,
      port: service.port,
      real: options.realServer.address,
      realPort: options.realServer.port,
    };
  };
  const done = (options: RealOptions, result: unknown, text: string) => {
    process.stdout.write(options.json === true ? `${JSON.stringify(result)}\n` : `${text}\n`);
  };
  target(real.command('set-weight').description('set the weight (0 drains: no new connections)'))
    .requiredOption('-w, --weight <n>', 'the new weight', weight)
    .action(async (options: RealOptions & { weight: number }) => {
      const result = await request(options, 'real.set-weight', {
        ...args(options),
        weight: options.weight,
      });
      done(options, result, `weight ${options.weight} set until the next reload`);
    });
  target(
    real
      .command('quiesce')
      .description('weight 0 until restored: established connections stay, no new ones'),
  ).action(async (options: RealOptions) => {
    done(
      options,
      await request(options, 'real.quiesce', args(options)),
      'quiesced until restored or the next reload',
    );
  });
  target(real.command('restore').description('back to the configured weight')).action(
    async (options: RealOptions) => {
      done(
        options,
        await request(options, 'real.restore', args(options)),
        'configured weight restored',
      );
    },
  );
}
