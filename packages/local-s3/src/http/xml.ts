// Request bodies in XML (DeleteObjects, CompleteMultipartUpload), read with fast-xml-parser.
// DOCTYPEs are refused before parsing: no entity expansion from a client's document.
import { XMLParser } from 'fast-xml-parser';
import { S3Error } from '../errors.js';

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
  processEntities: true,
  // Decode numeric character references (the SDK writes \n as &#x0A;); without this they stay literal and
  // a key names another object. Named entities beyond XML's five never get here (checkCharacters).
  htmlEntities: true,
  ignoreDeclaration: true,
  isArray: (name) => name === 'Object' || name === 'Part',
});

function malformed(): S3Error {
  return new S3Error('MalformedXML');
}

/** XML 1.0's Char production. */
function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

const REFERENCE = /&(?:(amp|lt|gt|quot|apos)|#([0-9]{1,7})|#x([0-9a-fA-F]{1,6}));/y;

/**
 * Refuse what an XML parser must refuse but the parser here would silently drop (&#0;) or keep
 * literally (&bogus;): either way a key would name a different object than the client meant.
 */
function checkCharacters(text: string): void {
  if (/[\0-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]/.test(text)) throw malformed();
  const outside = text.replace(/<!\[CDATA\[[\s\S]*?\]\]>|<!--[\s\S]*?-->/g, '');
  for (let i = outside.indexOf('&'); i !== -1; i = outside.indexOf('&', i + 1)) {
    REFERENCE.lastIndex = i;
    const m = REFERENCE.exec(outside);
    if (!m || (!m[1] && !isXmlChar(m[2] !== undefined ? parseInt(m[2], 10) : parseInt(m[3], 16)))) throw malformed();
  }
}

export function parseXml(body: Buffer): Record<string, unknown> {
  const text = body.toString('utf8');
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw malformed();
  checkCharacters(text);
  try {
    return parser.parse(text, true) as Record<string, unknown>;
  } catch {
    throw malformed();
  }
}

export function parseDeleteRequest(body: Buffer): { keys: string[]; quiet: boolean } {
  const doc = parseXml(body).Delete as { Object?: Array<{ Key?: unknown }>; Quiet?: unknown } | undefined;
  if (!doc || !Array.isArray(doc.Object) || doc.Object.length === 0 || doc.Object.length > 1000) throw malformed();
  const keys = doc.Object.map((o) => {
    if (typeof o?.Key !== 'string') throw malformed();
    return o.Key;
  });
  return { keys, quiet: String(doc.Quiet ?? '').trim() === 'true' };
}

export interface CompleteRequestPart {
  partNumber: number;
  etag: string;
  /** Checksum<ALG> elements of the part: algorithm (SHA256, CRC32, …) to base64 value. */
  checksums: Record<string, string>;
}

export function parseCompleteRequest(body: Buffer): CompleteRequestPart[] {
  const doc = parseXml(body).CompleteMultipartUpload as { Part?: Array<Record<string, unknown>> } | undefined;
  if (!doc || !Array.isArray(doc.Part) || doc.Part.length === 0) throw malformed();
  return doc.Part.map((p) => {
    const n = typeof p?.PartNumber === 'string' ? p.PartNumber.trim() : '';
    if (!/^\d+$/.test(n) || typeof p.ETag !== 'string') throw malformed();
    const checksums: Record<string, string> = {};
    for (const [name, value] of Object.entries(p)) {
      if (name.startsWith('Checksum') && name !== 'ChecksumType' && typeof value === 'string') checksums[name.slice('Checksum'.length).toUpperCase()] = value.trim();
    }
    return { partNumber: Number(n), etag: p.ETag.trim().replace(/^"|"$/g, ''), checksums };
  });
}
