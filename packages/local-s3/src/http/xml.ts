// Request bodies in XML (DeleteObjects, CompleteMultipartUpload), read with fast-xml-parser.
// DOCTYPEs are refused before parsing: no entity expansion from a client's document.
import { XMLParser } from 'fast-xml-parser';
import { S3Error } from '../errors.js';

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
  processEntities: true,
  ignoreDeclaration: true,
  isArray: (name) => name === 'Object' || name === 'Part',
});

function malformed(): S3Error {
  return new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
}

export function parseXml(body: Buffer): Record<string, unknown> {
  const text = body.toString('utf8');
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw malformed();
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

export function parseCompleteRequest(body: Buffer): Array<{ partNumber: number; etag: string }> {
  const doc = parseXml(body).CompleteMultipartUpload as { Part?: Array<{ PartNumber?: unknown; ETag?: unknown }> } | undefined;
  if (!doc || !Array.isArray(doc.Part) || doc.Part.length === 0) throw malformed();
  return doc.Part.map((p) => {
    const n = typeof p?.PartNumber === 'string' ? p.PartNumber.trim() : '';
    if (!/^\d+$/.test(n) || typeof p.ETag !== 'string') throw malformed();
    return { partNumber: Number(n), etag: p.ETag.trim().replace(/^"|"$/g, '') };
  });
}
