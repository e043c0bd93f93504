// An independent decoder for the snapshot format, written from
// docs/format.md only (no Rust code, no npm packages). It reads the committed
// fixture that tests/tests/format_fixture.rs produces with the Rust encoder
// and checks that decoding it per docs/format.md gives exactly payload.json.
//
// Run: node --test tests/node/

import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, '..', 'fixtures', 'format');
const read = (name) => fs.readFileSync(path.join(fixtures, name));

const SIGNING_CONTEXT = Buffer.from('tessera/snapshot/v1', 'ascii');
const TEXT_PREFIX = 'tss1.';
const MAX_ENVELOPE_BYTES = 1 << 20;
// The prefix plus the unpadded base64 length of MAX_ENVELOPE_BYTES: 1,398,107.
const MAX_TEXT_BYTES = TEXT_PREFIX.length + Math.ceil((MAX_ENVELOPE_BYTES * 4) / 3);

// ---------------------------------------------------------------------------
// Cursor: the postcard primitives of docs/format.md §5.

class Cursor {
  constructor(bytes) {
    this.bytes = bytes;
    this.pos = 0;
  }

  get remaining() {
    return this.bytes.length - this.pos;
  }

  u8() {
    if (this.pos >= this.bytes.length) throw new Error('truncated');
    return this.bytes[this.pos++];
  }

  take(n) {
    if (n > this.remaining) throw new Error('truncated');
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Unsigned LEB128 of a `bits`-wide integer, as a BigInt. */
  varint(bits) {
    const maxBytes = Math.ceil(bits / 7);
    let value = 0n;
    for (let i = 0; i < maxBytes; i++) {
      const byte = this.u8();
      value |= BigInt(byte & 0x7f) << BigInt(7 * i);
      if ((byte & 0x80) === 0) {
        if (i === maxBytes - 1 && byte > (1 << (bits % 7)) - 1) throw new Error('varint overflows');
        // Stricter than postcard: the encoder always writes the shortest form.
        if (i > 0 && byte === 0) throw new Error('overlong varint');
        return value;
      }
    }
    throw new Error('varint too long');
  }

  u32() {
    return Number(this.varint(32));
  }

  u64() {
    const value = this.varint(64);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`u64 ${value} is not a safe JS number`);
    return Number(value);
  }

  /** Lengths are varint(usize); 64-bit on the reference encoder. */
  len() {
    const n = this.u64();
    if (n > this.remaining) throw new Error('length past the end');
    return n;
  }

  bool() {
    const byte = this.u8();
    if (byte > 1) throw new Error(`bad bool ${byte}`);
    return byte === 1;
  }

  str() {
    return new TextDecoder('utf-8', { fatal: true }).decode(this.take(this.len()));
  }

  option(inner) {
    const tag = this.u8();
    if (tag === 0) return null;
    if (tag === 1) return inner(this);
    throw new Error(`bad option tag ${tag}`);
  }

  seq(inner) {
    const n = this.len();
    const out = [];
    for (let i = 0; i < n; i++) out.push(inner(this));
    return out;
  }

  /** An enum: varint(u32) variant index, then that variant's content. */
  enumOf(name, variants) {
    const index = this.u32();
    const variant = variants[index];
    if (!variant) throw new Error(`${name}: unknown variant ${index}`);
    return variant(this);
  }

  end() {
    if (this.remaining !== 0) throw new Error(`${this.remaining} trailing bytes`);
  }
}

// ---------------------------------------------------------------------------
// Envelope (docs/format.md §1).

function decodeEnvelope(bytes) {
  if (bytes.length > MAX_ENVELOPE_BYTES) throw new Error('TOO_LARGE');
  const c = new Cursor(bytes);
  const field = () => c.take(Number(c.varint(64)));
  const kidStart = c.pos;
  const kid = new TextDecoder('utf-8', { fatal: true }).decode(field());
  const payloadPrefixAt = c.pos;
  const payload = field();
  const signaturePrefixAt = c.pos;
  const signature = field();
  c.end();
  if (signature.length !== 64) throw new Error('signature is not 64 bytes');
  return { kid, payload, signature, kidStart, payloadPrefixAt, signaturePrefixAt };
}

function fromText(text) {
  if (text.length > MAX_TEXT_BYTES) throw new Error('TOO_LARGE');
  if (!text.startsWith(TEXT_PREFIX)) throw new Error('no tss1. prefix');
  const body = text.slice(TEXT_PREFIX.length);
  if (!/^[A-Za-z0-9_-]*$/.test(body) || body.length % 4 === 1) throw new Error('not base64url without padding');
  const bytes = Buffer.from(body, 'base64url');
  // Canonical: re-encoding must give the same text (no stray trailing bits).
  if (bytes.toString('base64url') !== body) throw new Error('non-canonical base64url');
  return bytes;
}

// ---------------------------------------------------------------------------
// Payload (docs/format.md §6), one function per type, fields in order.

const bits = (c) => c.seq((c) => c.u8());
const nodeKey = (c) => {
  const text = c.str();
  if (!/^[a-z][a-z0-9_]*:[A-Za-z0-9._~-]{1,128}$/.test(text)) throw new Error(`bad node key ${text}`);
  return text;
};

const principalInfo = (c) => ({
  id: c.str(),
  name: c.str(),
  superuser: c.bool(),
  anonymous: c.bool(),
  active: c.bool(),
  member: c.bool(),
});

const header = (c) => ({
  format_version: c.u32(),
  org: c.str(),
  principal: principalInfo(c),
  issued_at: c.u64(),
  expires_at: c.u64(),
  revision: c.u64(),
  catalog_hash: [...c.take(32)],
  kid: c.str(),
  subtrees: c.option((c) => c.seq(nodeKey)),
});

const catalogEntry = (c) => ({ key: c.str(), requires: c.seq((c) => c.u32()) });

const typeEntry = (c) => ({
  name: c.str(),
  parents: c.seq((c) => c.option((c) => c.u32())),
  hideable: c.bool(),
});

const scopeSets = (c) => ({ plain: bits(c), owned: bits(c), decisive: c.option((c) => c.u32()) });

const knownNode = (c) => ({
  ty: c.u32(),
  id: c.str(),
  parent: c.option((c) => c.u32()),
  hidden: c.bool(),
  sets: scopeSets(c),
});

const route = (c) => ({ path: c.str(), when: c.str(), fallback: c.str() });

const assignmentUse = (c) => ({
  subject: c.str(),
  scope: c.option((c) => c.u32()),
  role: c.u32(),
  owner_only: c.bool(),
});

const capUse = (c) => ({ id: c.str(), scope: c.option((c) => c.u32()), allow: bits(c) });

const nodeProvenance = (c) => ({ assignments: c.seq(assignmentUse), caps: c.seq(capUse) });

const provenanceRole = (c) => ({ name: c.str(), permissions: bits(c) });

const provenance = (c) => ({
  roles: c.seq(provenanceRole),
  root: nodeProvenance(c),
  nodes: c.seq(nodeProvenance),
});

/** Decodes a whole payload; also returns the byte range of `catalog`. */
function decodePayload(bytes) {
  const c = new Cursor(bytes);
  const out = {};
  out.header = header(c);
  const catalogStart = c.pos;
  out.catalog = c.seq(catalogEntry);
  const catalogEnd = c.pos;
  out.types = c.seq(typeEntry);
  out.root = scopeSets(c);
  out.nodes = c.seq(knownNode);
  out.token_scopes = c.option(bits);
  out.routes = c.seq(route);
  out.groups = c.seq((c) => c.str());
  out.root_roles = c.seq((c) => c.str());
  out.provenance = c.option(provenance);
  c.end();
  return { payload: out, catalogBytes: bytes.subarray(catalogStart, catalogEnd) };
}

// ---------------------------------------------------------------------------
// Ed25519 with domain separation (docs/format.md §2).

function publicKey(jwks, kid) {
  const jwk = jwks.keys.find((k) => k.kid === kid);
  assert.ok(jwk, `no key ${kid}`);
  assert.equal(jwk.kty, 'OKP');
  assert.equal(jwk.crv, 'Ed25519');
  return crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
}

const verify = (key, payload, signature, context = SIGNING_CONTEXT) =>
  crypto.verify(null, Buffer.concat([context, payload]), key, signature);

// ---------------------------------------------------------------------------

const bin = read('snapshot.bin');
const txt = read('snapshot.txt').toString('utf8');
const jwks = JSON.parse(read('jwks.json').toString('utf8'));
const expected = JSON.parse(read('payload.json').toString('utf8'));

test('envelope: three LEB128-prefixed fields, 64-byte signature, nothing after', () => {
  const env = decodeEnvelope(bin);
  assert.equal(env.kid, 'fixture-key');
  assert.equal(env.kidStart, 0);
  assert.equal(bin[env.signaturePrefixAt], 0x40, 'signature prefix byte');
  assert.equal(env.signature.length, 64);
  assert.equal(env.signaturePrefixAt + 1 + 64, bin.length);
  // Re-encoding the three fields gives the same bytes.
  const leb = (n) => {
    const out = [];
    do {
      let byte = n & 0x7f;
      n >>>= 7;
      if (n) byte |= 0x80;
      out.push(byte);
    } while (n);
    return Buffer.from(out);
  };
  const kid = Buffer.from(env.kid, 'utf8');
  const again = Buffer.concat([leb(kid.length), kid, leb(env.payload.length), env.payload, leb(64), env.signature]);
  assert.deepEqual(again, bin);
});

test('envelope: truncated, trailing, oversized and malformed input is refused', () => {
  for (let cut = 0; cut < bin.length; cut++) {
    assert.throws(() => decodeEnvelope(bin.subarray(0, cut)), undefined, `cut at ${cut}`);
  }
  assert.throws(() => decodeEnvelope(Buffer.concat([bin, Buffer.from([0])])), /trailing/);
  assert.throws(() => decodeEnvelope(Buffer.alloc(11, 0xff)), /varint/);
  assert.throws(() => decodeEnvelope(Buffer.alloc(MAX_ENVELOPE_BYTES + 1)), /TOO_LARGE/);
  // A 63-byte signature (prefix 0x3f) is refused.
  const env = decodeEnvelope(bin);
  const short = Buffer.concat([bin.subarray(0, env.signaturePrefixAt), Buffer.from([0x3f]), env.signature.subarray(0, 63)]);
  assert.throws(() => decodeEnvelope(short), /64 bytes/);
});

test('text form: tss1. + base64url without padding of the binary envelope', () => {
  assert.ok(txt.endsWith('\n'));
  const text = txt.slice(0, -1);
  assert.ok(text.startsWith('tss1.'));
  assert.ok(!text.includes('='));
  assert.deepEqual(fromText(text), bin);
  assert.equal(TEXT_PREFIX + bin.toString('base64url'), text);
  assert.throws(() => fromText('tss2.' + text.slice(5)), /prefix/);
  assert.throws(() => fromText(text + '='), /base64url/);
  assert.throws(() => fromText('tss1.A'), /base64url/);
  assert.throws(() => fromText('tss1.AB'), /non-canonical/); // trailing bits set
});

test('signature: Ed25519 over the context followed by the payload', () => {
  const env = decodeEnvelope(bin);
  const key = publicKey(jwks, env.kid);
  assert.equal(verify(key, env.payload, env.signature), true);

  const flippedPayload = Buffer.from(env.payload);
  flippedPayload[flippedPayload.length >> 1] ^= 0x01;
  assert.equal(verify(key, flippedPayload, env.signature), false, 'payload bit flip');

  const flippedSignature = Buffer.from(env.signature);
  flippedSignature[10] ^= 0x80;
  assert.equal(verify(key, env.payload, flippedSignature), false, 'signature bit flip');

  assert.equal(verify(key, env.payload, env.signature, Buffer.from('tessera/snapshot/v2')), false, 'other context');
  assert.equal(verify(key, env.payload, env.signature, Buffer.alloc(0)), false, 'no context');
});

test('payload: decodes completely per docs/format.md and equals payload.json', () => {
  const { payload } = decodePayload(decodeEnvelope(bin).payload);
  assert.deepEqual(payload, expected);
});

test('payload: every strict prefix and any trailing byte is refused', () => {
  const bytes = decodeEnvelope(bin).payload;
  for (let cut = 0; cut < bytes.length; cut++) {
    assert.throws(() => decodePayload(bytes.subarray(0, cut)), undefined, `cut at ${cut}`);
  }
  assert.throws(() => decodePayload(Buffer.concat([bytes, Buffer.from([0])])), /trailing/);
});

test('header: format version first, kid agrees, catalog hash is SHA-256 of the catalog bytes', () => {
  const env = decodeEnvelope(bin);
  // The version can be read before anything else.
  assert.equal(new Cursor(env.payload).u32(), 1);
  const { payload, catalogBytes } = decodePayload(env.payload);
  assert.equal(payload.header.format_version, 1);
  assert.equal(payload.header.kid, env.kid);
  const digest = crypto.createHash('sha256').update(catalogBytes).digest();
  assert.deepEqual([...digest], payload.header.catalog_hash);
  // The catalog slice is itself a complete Vec<CatalogEntry>.
  const c = new Cursor(catalogBytes);
  assert.deepEqual(c.seq(catalogEntry), payload.catalog);
  c.end();
  assert.ok(payload.header.issued_at < payload.header.expires_at);
});

test('worked example of docs/format.md §7: the first bytes of the payload', () => {
  const bytes = decodeEnvelope(bin).payload;
  const hex = Buffer.from(bytes.subarray(0, 41)).toString('hex');
  assert.equal(
    hex,
    '01' + '0461636d65' + '05616c696365' + '0d416c696365204578616d706c65' + '00000101' +
      '80e2cfaa06' + 'ace4cfaa06' + '2a',
  );
});

test('primitives: varint limits match postcard', () => {
  assert.equal(new Cursor(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])).u32(), 0xffffffff);
  assert.throws(() => new Cursor(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x10])).u32(), /overflows/);
  assert.throws(() => new Cursor(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x00])).u32(), /too long/);
  assert.equal(
    new Cursor(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])).varint(64),
    0xffffffffffffffffn,
  );
  assert.throws(() => new Cursor(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02])).varint(64), /overflows/);
  assert.equal(new Cursor(Buffer.from([0xac, 0x02])).u32(), 300);
  assert.throws(() => new Cursor(Buffer.from([0x02])).bool(), /bool/);
  assert.throws(() => new Cursor(Buffer.from([0x02])).option((c) => c.u8()), /option/);
  assert.throws(() => new Cursor(Buffer.from([0x02])).enumOf('Two', [() => 0, () => 1]), /unknown variant/);
});
