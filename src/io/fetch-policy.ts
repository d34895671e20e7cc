/**
 * Which URLs task data may make the backend fetch (so a task is not a way into the network):
 * Label Studio's own origin and the origins listed in TASK_URL_ORIGINS are trusted; `*` there, and
 * a redirect issued by Label Studio itself (cloud storage presigning), allow any *public* address.
 * Loopback, link-local, private and other non-public addresses are refused unless their origin
 * is trusted. The address is checked where the connection is made (after DNS resolution, on every
 * redirect hop), so a name that resolves to 127.0.0.1 is refused like the literal.
 */
import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent } from 'undici';

/** How far a URL may be fetched: to any address (trusted origin) or to public addresses only. */
export type Reach = 'any-address' | 'public-only';

export type Refusal = { refused: 'origin_not_allowed' | 'private_address'; reason: string };

export interface TaskUrlPolicyOptions {
  /** Label Studio's origin (from LABEL_STUDIO_URL), trusted. */
  labelStudioOrigin?: string | undefined;
  /** TASK_URL_ORIGINS: trusted origins, or `*` for any public origin. */
  allowedOrigins?: readonly string[] | undefined;
}

/** Error code a refused connection carries through undici's "fetch failed". */
export const PRIVATE_ADDRESS_CODE = 'ERR_TASK_URL_PRIVATE_ADDRESS';

export class TaskUrlPolicy {
  readonly #trusted: Set<string>;
  readonly #anyPublic: boolean;
  #agents: Partial<Record<Reach, Agent>> = {};

  constructor(options: TaskUrlPolicyOptions) {
    const listed = options.allowedOrigins ?? [];
    this.#anyPublic = listed.includes('*');
    this.#trusted = new Set(listed.filter((origin) => origin !== '*'));
    if (options.labelStudioOrigin) this.#trusted.add(options.labelStudioOrigin);
  }

  /**
   * Whether `url` may be fetched, and how far. `viaLabelStudio`: the URL is where Label Studio's
   * own answer redirected (its presign endpoint), so any public host is fine.
   */
  decide(url: URL, viaLabelStudio: boolean): { reach: Reach } | Refusal {
    if (this.#trusted.has(url.origin)) return { reach: 'any-address' };
    if (!this.#anyPublic && !viaLabelStudio) {
      return { refused: 'origin_not_allowed', reason: `${url.origin} is neither Label Studio's origin nor listed in TASK_URL_ORIGINS` };
    }
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    if (net.isIP(literal) !== 0 && !isPublicAddress(literal)) {
      return { refused: 'private_address', reason: `${literal} is a ${rangeOf(literal)} address (list its origin in TASK_URL_ORIGINS to allow it)` };
    }
    return { reach: 'public-only' };
  }

  /** The undici dispatcher for a reach: 'public-only' refuses non-public addresses at connect time. */
  dispatcher(reach: Reach): Agent {
    return (this.#agents[reach] ??= reach === 'public-only' ? new Agent({ connect: { lookup: publicOnlyLookup } }) : new Agent());
  }

  async close(): Promise<void> {
    await Promise.all(Object.values(this.#agents).map((agent) => agent.close()));
    this.#agents = {};
  }
}

/** Only globally routable unicast addresses are public (IPv4-mapped IPv6 judged as IPv4). */
export function isPublicAddress(address: string): boolean {
  return rangeOf(address) === 'unicast';
}

function rangeOf(address: string): string {
  try {
    let parsed = ipaddr.parse(address);
    if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
    return parsed.range();
  } catch {
    return 'invalid';
  }
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/** dns.lookup, then a refusal when any resolved address is not public (no partial trust). */
function publicOnlyLookup(hostname: string, options: dns.LookupOptions, callback: LookupCallback): void {
  dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '');
    const bad = addresses.find((entry) => !isPublicAddress(entry.address));
    if (bad) {
      const refusal = Object.assign(new Error(`${hostname} resolves to ${bad.address}, a ${rangeOf(bad.address)} address (list its origin in TASK_URL_ORIGINS to allow it)`), { code: PRIVATE_ADDRESS_CODE });
      return callback(refusal, '');
    }
    const first = addresses[0];
    if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '');
    return options.all ? callback(null, addresses) : callback(null, first.address, first.family);
  });
}
