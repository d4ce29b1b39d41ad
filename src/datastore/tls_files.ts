/**
 * Checks the etcd TLS files before they are used. gRPC takes any bytes at start-up and only
 * fails at the first handshake, with a message that names no file ("self-signed
 * certificate"); so each file is parsed here, and a file that is not PEM, holds no
 * certificate or key, does not parse, or a key that does not belong to the certificate is
 * refused at once with one line naming the file and the problem.
 */
import { Buffer } from "node:buffer";
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { errorMessage } from "../util/error_message.ts";

const PEM_BLOCK_RE = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/** The PEM blocks of `text`: their labels and full text. */
function _pemBlocks(text: string): { label: string; pem: string }[] {
  return [...text.matchAll(PEM_BLOCK_RE)].map((m) => ({ label: m[1]!, pem: m[0] }));
}

/** Why `bytes` is not PEM text at all, or undefined when it is. */
function _notPem(bytes: Uint8Array, blocks: readonly unknown[]): string | undefined {
  if (bytes.length === 0) return "the file is empty";
  if (blocks.length > 0) return undefined;
  if (bytes[0] === 0x30) return "it is not PEM (it looks like binary DER: convert it to PEM)";
  return "it is not PEM (no '-----BEGIN ...-----' block found)";
}

function _firstLine(e: unknown): string {
  const msg = errorMessage(e);
  return (msg.split("\n")[0] ?? msg).trim();
}

/**
 * Checks a CA bundle or client certificate file: PEM with at least one certificate, every
 * certificate parseable. Returns the parsed certificates, or a problem description.
 */
export function checkCertificates(
  bytes: Uint8Array,
): { certs: X509Certificate[] } | { problem: string } {
  const text = new TextDecoder().decode(bytes);
  const blocks = _pemBlocks(text);
  const notPem = _notPem(bytes, blocks);
  if (notPem) return { problem: notPem };
  const certBlocks = blocks.filter((b) => b.label === "CERTIFICATE");
  if (certBlocks.length === 0) {
    const labels = [...new Set(blocks.map((b) => b.label))].join(", ");
    return { problem: `it holds no certificate (found: ${labels})` };
  }
  const certs: X509Certificate[] = [];
  for (const [i, b] of certBlocks.entries()) {
    try {
      certs.push(new X509Certificate(Buffer.from(b.pem)));
    } catch (e) {
      return { problem: `certificate ${i + 1} does not parse: ${_firstLine(e)}` };
    }
  }
  return { certs };
}

/** Checks a client key file: one unencrypted PEM private key that parses. */
export function checkPrivateKey(bytes: Uint8Array): { key: KeyObject } | { problem: string } {
  const text = new TextDecoder().decode(bytes);
  const blocks = _pemBlocks(text);
  const notPem = _notPem(bytes, blocks);
  if (notPem) return { problem: notPem };
  if (blocks.some((b) => b.label === "ENCRYPTED PRIVATE KEY")) {
    return { problem: "the private key is encrypted; etcd client keys must be unencrypted" };
  }
  const keyBlock = blocks.find((b) => /PRIVATE KEY$/.test(b.label));
  if (!keyBlock) {
    const labels = [...new Set(blocks.map((b) => b.label))].join(", ");
    return { problem: `it holds no private key (found: ${labels})` };
  }
  try {
    return { key: createPrivateKey(keyBlock.pem) };
  } catch (e) {
    return { problem: `the private key does not parse: ${_firstLine(e)}` };
  }
}

/** True when `key` is the private key of `cert`. */
export function keyMatchesCertificate(cert: X509Certificate, key: KeyObject): boolean {
  try {
    return cert.checkPrivateKey(key);
  } catch {
    return false;
  }
}
