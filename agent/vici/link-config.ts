// Turns a small typed link description into the load-conn / load-shared messages charon expects
// (keys as in swanctl.conf(5)). One IKE_SA config per link, with one CHILD_SA of the same name.
import { toViciMessage, type ViciMessage } from './codec';

/** A `load-shared` secret. */
export interface SharedSecret {
  /** Unique id so the secret can be replaced or unloaded (we use the conn name). */
  id: string;
  type?: 'IKE' | 'EAP' | 'XAUTH' | 'NTLM' | 'PPK';
  /** The secret itself; never logged. */
  data: string;
  owners: string[];
}

export interface LinkConnSpec {
  /** IKE and CHILD config name; also the PSK's id so both can be unloaded by name. */
  name: string;
  /** Our IKE identity (explicit: behind cloud NAT our address says nothing about who we are). */
  localId: string;
  remoteId: string;
  /** Addresses to send/accept IKE on; default %any, so a gateway behind 1:1 NAT just works. */
  localAddrs?: string[];
  /** The peer's public address(es). */
  remoteAddrs: string[];
  localTs: string[];
  remoteTs: string[];
  /** The initiator restarts the tunnel after DPD failures; the responder just clears it. */
  initiator: boolean;
  /** Seconds between liveness checks on an idle tunnel (default 10). */
  dpdDelaySeconds?: number;
}

export interface LinkSharedSpec {
  /** The link's conn name; used as the secret's unique id. */
  name: string;
  localId: string;
  remoteId: string;
  /** The pre-shared key; never logged. */
  psk: string;
}

/**
 * AEAD proposals that the plugin list here provides (gcm via openssl). IKE needs a PRF next to GCM;
 * ESP lists DH groups so CHILD_SA rekeys use PFS.
 */
export const IKE_PROPOSALS = ['aes256gcm16-aes128gcm16-prfsha256-ecp256-modp2048'] as const;
export const ESP_PROPOSALS = ['aes256gcm16-aes128gcm16-ecp256-modp2048'] as const;

/** The `load-conn` message for one link: `{ [name]: { …IKE config, children: { [name]: … } } }`. */
export function buildLinkConn(spec: LinkConnSpec): ViciMessage {
  const conn = toViciMessage({
    version: 2,
    local_addrs: spec.localAddrs ?? ['%any'],
    remote_addrs: spec.remoteAddrs,
    proposals: IKE_PROPOSALS,
    mobike: true,
    // NAT is detected per IKE_SA; forcing UDP encapsulation would only add overhead on-prem.
    encap: false,
    dpd_delay: `${spec.dpdDelaySeconds ?? 10}s`,
    // The initiator keeps retrying (0 = forever), so a tunnel heals without the controller.
    keyingtries: spec.initiator ? 0 : 1,
    // A peer that restarts re-authenticates; drop its stale IKE_SA instead of keeping both.
    unique: 'replace',
    local: { auth: 'psk', id: spec.localId },
    remote: { auth: 'psk', id: spec.remoteId },
    children: {
      [spec.name]: {
        mode: 'tunnel',
        local_ts: spec.localTs,
        remote_ts: spec.remoteTs,
        esp_proposals: ESP_PROPOSALS,
        dpd_action: spec.initiator ? 'restart' : 'clear',
        // The agent initiates explicitly; charon must not race it at load time.
        start_action: 'none',
        // Not 'start': a tunnel being removed (the peer's DELETE can arrive first) would be
        // re-dialled by charon, forever. The agent re-dials the links it still holds (agent.ts).
        close_action: 'none',
      },
    },
  });
  return { [spec.name]: conn };
}

/** The `load-shared` message for a link's PSK, owned by both identities, unloadable by its id. */
export function buildLinkShared(spec: LinkSharedSpec): SharedSecret {
  return { id: spec.name, type: 'IKE', data: spec.psk, owners: [spec.localId, spec.remoteId] };
}
