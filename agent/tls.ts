// How the agent checks the controller's certificate: the system CAs or CONTROLLER_CA, the name of
// the URL it dialled (not a proxy's), and optionally a pinned public key anywhere in the chain, in
// the HPKP / curl --pinnedpubkey format ("sha256/" + base64 of the SHA-256 of the DER SPKI).
import { X509Certificate, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { checkServerIdentity, type DetailedPeerCertificate, type PeerCertificate } from 'node:tls';

export interface ControllerTrust {
  /** PEM bundle trusted instead of the system CAs (CONTROLLER_CA); undefined: the system CAs. */
  ca?: string;
  /** Accepted public keys, "sha256/<base64>" (CONTROLLER_PIN); empty: no pinning. */
  pins: string[];
}

/** Code of the error a pin mismatch fails the handshake with. */
export const PIN_MISMATCH = 'ERR_CONTROLLER_PIN_MISMATCH';

export function isPin(text: string): boolean {
  const m = /^sha256\/([A-Za-z0-9+/]{43}=)$/.exec(text);
  return m !== null && Buffer.from(m[1]!, 'base64').length === 32;
}

/** Reads a PEM bundle and checks every certificate in it parses; throws with the reason. */
export function readCaBundle(file: string): string {
  const text = readFileSync(file, 'utf8');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error(`${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  blocks.forEach((block, index) => {
    try {
      new X509Certificate(block);
    } catch (err) {
      throw new Error(`${file}: certificate ${index + 1} of ${blocks.length} is not a valid PEM certificate (${(err as Error).message})`);
    }
  });
  return text;
}

/** The pin of a DER certificate's public key. Hashes the full SPKI: Node's `cert.pubkey` is only that for RSA. */
export function spkiPin(certDer: Buffer): string {
  const spki = new X509Certificate(certDer).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256/${createHash('sha256').update(spki).digest('base64')}`;
}

/** Pins of the verified chain, leaf first (Node fills issuerCertificate up to the trusted root). */
function chainPins(leaf: PeerCertificate): string[] {
  const pins: string[] = [];
  const seen = new Set<string>();
  let cert: DetailedPeerCertificate | undefined = leaf as DetailedPeerCertificate;
  while (cert?.raw && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    pins.push(spkiPin(cert.raw));
    cert = cert.issuerCertificate;
  }
  return pins;
}

/**
 * A checkServerIdentity for a controller dialled as `hostname`. The name is bound here because
 * through a CONNECT proxy to an IP address Node would otherwise check the proxy's name. Runs after
 * the chain was verified; Node skips it on resumed TLS sessions, which the agent never offers.
 */
export function controllerIdentityCheck(hostname: string, pins: readonly string[]): (presented: string, cert: PeerCertificate) => Error | undefined {
  const expected = hostname.replace(/^\[|\]$/g, '');
  return (_presented, cert) => {
    const wrongName = checkServerIdentity(expected, cert);
    if (wrongName) return wrongName;
    if (pins.length === 0) return undefined;
    const chain = chainPins(cert);
    if (chain.some((pin) => pins.includes(pin))) return undefined;
    return Object.assign(new Error(`no key in the certificate chain of ${expected} matches CONTROLLER_PIN (the chain's keys, leaf first: ${chain.join(', ')})`), { code: PIN_MISMATCH });
  };
}

/** OpenSSL's verification codes as Node reports them, the name check, and the pin check. */
const CERTIFICATE_CODES = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY|DECODE|DECRYPT)|INVALID_CA|INVALID_PURPOSE|PATH_LENGTH_EXCEEDED|HOSTNAME_MISMATCH|ERR_TLS_CERT_ALTNAME_INVALID|ERR_CONTROLLER_PIN_MISMATCH/;

export function isCertificateError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && CERTIFICATE_CODES.test(code);
}
