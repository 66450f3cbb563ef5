/**
 * Generic netlink (genetlink): families registered by name, whose numeric
 * id the kernel hands out at registration and the controller family
 * (CTRL_CMD_GETFAMILY) resolves. Messages carry a 4-byte genl header
 * (command, version, reserved) before their attributes.
 */
import { LbctlError } from '../errors.js';
import { NETLINK_GENERIC, NetlinkConnection, NetlinkError } from './connection.js';
import {
  type Attribute,
  decodeAttributes,
  type NetlinkMessage,
  stringAttribute,
} from './message.js';

const GENL_ID_CTRL = 0x10;
const CTRL_CMD_GETFAMILY = 3;
const CTRL_ATTR_FAMILY_ID = 1;
const CTRL_ATTR_VERSION = 3;
const CTRL_ATTR_FAMILY_NAME = 2;
const GENL_HEADER_BYTES = 4;
const ENOENT = 2;

export function genlHeader(command: number, version: number): Buffer {
  const header = Buffer.alloc(GENL_HEADER_BYTES);
  header.writeUInt8(command, 0);
  header.writeUInt8(version, 1);
  return header;
}

/** The attributes of a genetlink reply, after its genl header. */
export function genlAttributes(msg: NetlinkMessage): Map<number, Buffer> {
  return decodeAttributes(msg.body, GENL_HEADER_BYTES);
}

export interface GenlFamily {
  readonly id: number;
  readonly version: number;
}

/** One genetlink family on its own netlink socket. */
export class GenericNetlinkFamily {
  private constructor(
    private readonly connection: NetlinkConnection,
    readonly name: string,
    readonly family: GenlFamily,
  ) {}

  /**
   * Resolves `name`; a kernel without the family (module not loaded or not
   * built) gives a GENL_FAMILY_MISSING error naming it.
   */
  static async open(name: string): Promise<GenericNetlinkFamily> {
    const connection = new NetlinkConnection(NETLINK_GENERIC);
    try {
      const family = await resolveFamily(connection, name);
      return new GenericNetlinkFamily(connection, name, family);
    } catch (err) {
      connection.close();
      throw err;
    }
  }

  request(
    what: string,
    command: number,
    flags: number,
    attributes: readonly Attribute[] = [],
  ): Promise<NetlinkMessage[]> {
    return this.connection.request(
      what,
      this.family.id,
      flags,
      genlHeader(command, this.family.version),
      attributes,
    );
  }

  close(): void {
    this.connection.close();
  }
}

async function resolveFamily(connection: NetlinkConnection, name: string): Promise<GenlFamily> {
  let replies: NetlinkMessage[];
  try {
    replies = await connection.request(
      `resolve the generic netlink family ${name}`,
      GENL_ID_CTRL,
      0,
      genlHeader(CTRL_CMD_GETFAMILY, 1),
      [stringAttribute(CTRL_ATTR_FAMILY_NAME, name)],
    );
  } catch (err) {
    if (err instanceof NetlinkError && err.errno === ENOENT) {
      throw new LbctlError(
        'GENL_FAMILY_MISSING',
        `The running kernel has no generic netlink family ${name} (its module is not loaded or not built)`,
      );
    }
    throw err;
  }
  const attrs = replies[0] !== undefined ? genlAttributes(replies[0]) : undefined;
  const id = attrs?.get(CTRL_ATTR_FAMILY_ID);
  if (id === undefined || id.length < 2) {
    throw new LbctlError(
      'GENL_FAMILY_MISSING',
      `The kernel's answer for generic netlink family ${name} carries no id`,
    );
  }
  const version = attrs?.get(CTRL_ATTR_VERSION);
  return { id: id.readUInt16LE(0), version: version !== undefined ? version.readUInt32LE(0) : 1 };
}
