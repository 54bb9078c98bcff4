/* Chengxin portal: check in the browser that the credit record shown is in the signed log.
 *
 * Reads the JSON in #proof-data: {record, size, proof[], root, origin, signed_at, note, signature, public_key,
 * key_id}, with record.leaf_bytes the exact bytes of the record's leaf (base64). It parses those bytes and
 * requires them to be the record shown, field by field; hashes them into the leaf (SHA-256 with 0x00,
 * WebCrypto); folds the proof per RFC 9162 §2.1.3.2 and compares with the signed root; and checks the
 * Ed25519 signature over the note, which must name this log, size, root and time, with the key whose id
 * is shown. The served leaf hash is not used then: a record edited after it was logged fails here.
 * The key, origin and this script come from the same server as the page (docs/credit-log.md says where to
 * get the key out of band). Results go to #verify-result and #signature-result, in the page's language (their
 * data-* attributes); a browser without WebCrypto says it did not check, not that the check failed.
 *
 * A record shown with masked fields (record.masked: who decided, personal numbers in its free text) comes
 * without its leaf bytes, which hold what it masks (docs/security.md). Then the browser can only fold the leaf
 * hash the server derived from the logged record: the result says "partial", never "verified", in words and
 * a style of its own (class "partial", no green tick): inclusion checked here, content checked by the server.
 */
(function () {
  "use strict";

  const LEAF_VERSION = 1;

  function fromB64(text) {
    const raw = atob(text);
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  function toB64(bytes) {
    let raw = "";
    bytes.forEach(function (b) { raw += String.fromCharCode(b); });
    return btoa(raw);
  }

  function toHex(bytes) {
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

  function equal(a, b) {
    if (a.length !== b.length) return false;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
    return diff === 0;
  }

  async function sha256(prefix, parts) {
    const size = parts.reduce(function (n, p) { return n + p.length; }, prefix === null ? 0 : 1);
    const buf = new Uint8Array(size);
    let at = 0;
    if (prefix !== null) buf[at++] = prefix;
    for (const p of parts) { buf.set(p, at); at += p.length; }
    return new Uint8Array(await crypto.subtle.digest("SHA-256", buf));
  }

  function leafHash(bytes) { return sha256(0, [bytes]); }
  function nodeHash(left, right) { return sha256(1, [left, right]); }

  /* Two parsed JSON values are the same: numbers compare as numbers, so `1.0` in the leaf is 1 in the record
   * (exactly why the leaf's bytes are served: JavaScript cannot re-encode them). */
  function same(a, b) {
    if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return Object.is(a, b);
    if (Array.isArray(a) !== Array.isArray(b)) return false;
    const ka = Object.keys(a), kb = Object.keys(b);
    if (ka.length !== kb.length) return false;
    return ka.every(function (k) { return Object.prototype.hasOwnProperty.call(b, k) && same(a[k], b[k]); });
  }

  /* The leaf the record's fields make (docs/credit-log.md, Leaves), and the first field where the leaf's
   * bytes say otherwise (null when they agree). */
  function mismatch(leaf, r) {
    const want = {
      v: LEAF_VERSION, i: r.index, kind: r.kind, subject: [r.subject.kind, r.subject.source, r.subject.id],
      event: [r.event.source, r.event.id, r.event.hash], at: r.at, payload: r.payload,
    };
    if (r.leaf_version !== LEAF_VERSION) return "leaf_version";
    if (typeof leaf !== "object" || leaf === null || Array.isArray(leaf)) return "leaf";
    const extra = Object.keys(leaf).find(function (k) { return !Object.prototype.hasOwnProperty.call(want, k); });
    if (extra !== undefined) return extra;
    return Object.keys(want).find(function (k) { return !same(leaf[k], want[k]); }) || null;
  }

  // Halving with arithmetic, not bit operators: tree sizes may exceed 2^31.
  function odd(n) { return n % 2 === 1; }
  function half(n) { return Math.floor(n / 2); }

  /* An error the page can name in its language (`data-msg-<code>`). */
  function fault(code) {
    const e = new Error(code);
    e.code = code;
    return e;
  }

  const HASH_SIZE = 32;

  /* RFC 9162 §2.1.3.2: the root implied by `leaf` at `index` in a tree of `size` and the audit path. Every hash
   * (the leaf's, each in the path) must be 32 bytes: an empty leaf hash folded with no path "proved" an empty
   * root (transparency-dev's inclusion/single-entry/empty-root-and-leaf.json). */
  async function rootFromInclusion(index, size, leaf, path) {
    if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) {
      throw fault("index");
    }
    if (leaf.length !== HASH_SIZE) throw fault("hash");
    let fn = index, sn = size - 1, r = leaf;
    for (const p of path) {
      if (p.length !== HASH_SIZE) throw fault("hash");
      if (sn === 0) throw fault("long");
      if (odd(fn) || fn === sn) {
        r = await nodeHash(p, r);
        while (!odd(fn) && fn !== 0) { fn = half(fn); sn = half(sn); }
      } else {
        r = await nodeHash(r, p);
      }
      fn = half(fn);
      sn = half(sn);
    }
    if (sn !== 0) throw fault("short");
    return r;
  }

  /* Every word the script writes comes from the page, in the page's language: the result (`data-ok`,
   * `data-fail`, `data-partial`, `data-unsupported`) and what went wrong (`data-msg-<code>`, with {field} or
   * {root} filled in). `data-detail` keeps the code (and a browser's own error text) for tools and tests. */
  // "partial" has a class of its own: a leaf hash folded to the root is not a check of the content shown, and
  // it wore the green of one (found by review)
  const STATES = { verified: ["ok", "ok"], failed: ["fail", "bad"], partial: ["partial", "partial"],
    unsupported: ["unsupported", "pending"] };

  function message(el, code, values) {
    let text = el.dataset["msg" + code.charAt(0).toUpperCase() + code.slice(1)] || el.dataset.msgError || "";
    const names = el.dataset.fields ? JSON.parse(el.dataset.fields) : {};
    Object.keys(values || {}).forEach(function (k) {
      const v = k === "field" && Object.prototype.hasOwnProperty.call(names, values[k]) ? names[values[k]] : values[k];
      text = text.split("{" + k + "}").join(v);
    });
    return text;
  }

  function show(el, state, problem) {
    const word = el.dataset[STATES[state][0]] || "";
    const extra = problem ? message(el, problem.code, problem.values) : "";
    el.textContent = word + (extra ? " " + extra : "");
    el.dataset.state = state;
    el.dataset.detail = !problem ? "" : problem.code + (problem.values && problem.values.field ?
      ": " + problem.values.field : "") + (problem.note ? ": " + problem.note : "");
    el.className = STATES[state][1];
  }

  function folded(root, d) {
    const signed = fromB64(d.root);
    if (signed.length !== HASH_SIZE) return { ok: false, problem: { code: "hash" } };
    return equal(root, signed) ? { ok: true }
      : { ok: false, problem: { code: "root", values: { root: toB64(root) } } };
  }

  /* A masked record without its leaf bytes: the served leaf hash folds to the signed root. */
  async function checkLeafHash(d) {
    return folded(await rootFromInclusion(d.record.index, d.size, fromB64(d.leaf_hash), d.proof.map(fromB64)), d);
  }

  /* The record shown is its leaf's bytes, and their hash, folded with the proof, is the signed root. */
  async function checkInclusion(d) {
    const bytes = fromB64(d.record.leaf_bytes);
    let leaf;
    try {
      leaf = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    } catch (e) {
      return { ok: false, problem: { code: "json", note: e.message } };
    }
    const differs = mismatch(leaf, d.record);
    if (differs !== null) return { ok: false, problem: { code: "leaf", values: { field: differs } } };
    return folded(await rootFromInclusion(d.record.index, d.size, await leafHash(bytes), d.proof.map(fromB64)), d);
  }

  /* The note must be exactly this log's head as shown, signed by the key whose id is shown. */
  async function checkSignature(d) {
    const note = [d.origin, String(d.size), d.root, d.signed_at, ""].join("\n");
    if (d.note !== note) return { ok: false, problem: { code: "note" } };
    const raw = fromB64(d.public_key);
    if (toHex(await sha256(null, [raw])).slice(0, 16) !== d.key_id) {
      return { ok: false, problem: { code: "key" } };
    }
    const key = await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
    const ok = await crypto.subtle.verify({ name: "Ed25519" }, key, fromB64(d.signature),
      new TextEncoder().encode(d.note));
    return { ok: ok, problem: ok ? null : { code: "signature" } };
  }

  function thrown(e) {
    return e && e.code ? { code: e.code } : { code: "error", note: e && e.message };
  }

  async function run() {
    const source = document.getElementById("proof-data");
    const result = document.getElementById("verify-result");
    const sig = document.getElementById("signature-result");
    if (!source || !result) return;
    for (const el of [result, sig]) {  // the page says "not checked" until this script runs
      if (el) { el.textContent = el.dataset.pending; el.dataset.state = "pending"; }
    }
    const d = JSON.parse(source.textContent);
    if (!window.crypto || !crypto.subtle) {  // not checked, rather than failed (plain HTTP, an old browser)
      show(result, "unsupported", null);
      if (sig) show(sig, "unsupported", null);
      return;
    }
    const withheld = Array.isArray(d.record.masked) && d.record.masked.length > 0 && !d.record.leaf_bytes;
    try {
      const inc = await (withheld ? checkLeafHash(d) : checkInclusion(d));
      show(result, inc.ok ? (withheld ? "partial" : "verified") : "failed", inc.problem);
    } catch (e) {
      show(result, "failed", thrown(e));
    }
    if (!sig) return;
    try {
      const signed = await checkSignature(d);
      show(sig, signed.ok ? "verified" : "failed", signed.problem);
    } catch (e) {
      if (e && e.name === "NotSupportedError") show(sig, "unsupported", null);
      else show(sig, "failed", thrown(e));
    }
  }

  // For tests (tests/e2e/test_verify_js_vectors.py runs RFC 6962 vectors through these); the page does not use it.
  window.chengxinVerify = Object.freeze({ rootFromInclusion: rootFromInclusion, checkLeafHash: checkLeafHash });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
  else run();
})();
