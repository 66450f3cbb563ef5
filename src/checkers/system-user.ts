import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CheckerConfigError } from './checker-error.js';

const execFileAsync = promisify(execFile);

/** The user/group a script runs as (keepalived's `user USERNAME [GROUPNAME]`). */
export interface RunAs {
  readonly user: string;
  readonly group?: string;
}

export interface Credentials {
  readonly uid: number;
  readonly gid: number;
}

/**
 * Resolves names through NSS (getent), so LDAP/systemd users work too. Numeric
 * ids are taken as they are. Without a group, the user's primary group is used.
 */
export async function resolveCredentials(runAs: RunAs): Promise<Credentials> {
  const passwd = await lookup('passwd', runAs.user);
  const uid = /^\d+$/.test(runAs.user) ? Number(runAs.user) : Number(passwd?.[2]);
  let gid = Number(passwd?.[3]);
  if (passwd === undefined && !/^\d+$/.test(runAs.user)) {
    throw new CheckerConfigError(`Cannot run script as user "${runAs.user}": no such user`);
  }
  if (runAs.group !== undefined) {
    if (/^\d+$/.test(runAs.group)) {
      gid = Number(runAs.group);
    } else {
      const group = await lookup('group', runAs.group);
      if (group === undefined) {
        throw new CheckerConfigError(`Cannot run script as group "${runAs.group}": no such group`);
      }
      gid = Number(group[2]);
    }
  }
  if (!Number.isInteger(gid)) {
    throw new CheckerConfigError(
      `Cannot run script as user "${runAs.user}": no group given and the user has no passwd entry`,
    );
  }
  return { uid, gid };
}

async function lookup(database: 'passwd' | 'group', key: string): Promise<string[] | undefined> {
  try {
    const { stdout } = await execFileAsync('getent', [database, key]);
    const line = stdout.split('\n')[0];
    return line === undefined || line === '' ? undefined : line.split(':');
  } catch {
    // getent exits 2 when the key is unknown.
    return undefined;
  }
}
