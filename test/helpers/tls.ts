// A throw-away PKI for TLS tests, made with openssl in a temp dir: a CA with a server certificate for
// 127.0.0.1 and localhost, and an unrelated CA with a server certificate of its own.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const OPENSSL = '/usr/bin/openssl';

export interface TestCert {
  key: string;
  cert: string;
  certFile: string;
}

export interface TestCa {
  /** The CA certificate (PEM) and its file, as CONTROLLER_CA takes it. */
  cert: string;
  certFile: string;
  /** A server certificate it signed, valid for IP 127.0.0.1 and DNS localhost. */
  server: TestCert;
}

export interface TestPki {
  dir: string;
  ca: TestCa;
  /** Another CA, unrelated to `ca`: its server certificate must be refused by an agent trusting `ca`. */
  wrongCa: TestCa;
  /** Removes the temp dir (keys included). */
  cleanup(): Promise<void>;
}

export async function makeTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(path.join(tmpdir(), 'test-pki-'));
  try {
    return { dir, ca: await makeCa(dir, 'ca'), wrongCa: await makeCa(dir, 'wrong-ca'), cleanup: () => rm(dir, { recursive: true, force: true }) };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function makeCa(dir: string, name: string): Promise<TestCa> {
  const file = (suffix: string) => path.join(dir, `${name}${suffix}`);
  // P-256 keys: quick to make, and a key type whose `cert.pubkey` in Node is not the DER
  // SubjectPublicKeyInfo, so pinning code that hashed that field would be caught.
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run(OPENSSL, ['req', '-x509', ...ec, '-keyout', file('.key'), '-out', file('.pem'), '-days', '2', '-subj', `/CN=ipsec-mesh ${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  await run(OPENSSL, ['req', ...ec, '-keyout', file('-server.key'), '-out', file('-server.csr'), '-subj', '/CN=localhost']);
  await writeFile(file('-server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n');
  await run(OPENSSL, ['x509', '-req', '-in', file('-server.csr'), '-CA', file('.pem'), '-CAkey', file('.key'), '-CAcreateserial',
    '-out', file('-server.pem'), '-days', '2', '-extfile', file('-server.ext')]);
  return {
    cert: await readFile(file('.pem'), 'utf8'),
    certFile: file('.pem'),
    server: { key: await readFile(file('-server.key'), 'utf8'), cert: await readFile(file('-server.pem'), 'utf8'), certFile: file('-server.pem') },
  };
}

/**
 * The pin of a certificate's public key the way curl documents it for --pinnedpubkey
 * (sha256// + base64 of the SHA-256 of the DER SubjectPublicKeyInfo), computed by openssl so the
 * agent's own computation is checked against an independent one.
 */
export async function pinOf(certFile: string): Promise<string> {
  const { stdout } = await run('/bin/sh', ['-c',
    `${OPENSSL} x509 -in "$1" -pubkey -noout | ${OPENSSL} pkey -pubin -outform der | ${OPENSSL} dgst -sha256 -binary | ${OPENSSL} base64 -A`, 'pin', certFile]);
  return `sha256/${stdout.trim()}`;
}
