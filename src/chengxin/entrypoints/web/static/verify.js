/* Chengxin portal: check a credit record's inclusion proof in the browser (no server trust needed).
 *
 * Reads the JSON in #proof-data: {index, size, leaf, proof[], root, note, signature, public_key} (base64
 * hashes), recomputes the root from the leaf hash with WebCrypto SHA-256 following RFC 9162 §2.1.3.2,
 * compares it with the signed root, and checks the Ed25519 signature over the signed note when the
 * browser supports Ed25519. Results go to #verify-result and #signature-result.
 */
(function () {
  "use strict";

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

  function equal(a, b) {
    if (a.length !== b.length) return false;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
    return diff === 0;
  }

  async function nodeHash(left, right) {
    const buf = new Uint8Array(1 + left.length + right.length);
    buf[0] = 1;
    buf.set(left, 1);
    buf.set(right, 1 + left.length);
    return new Uint8Array(await crypto.subtle.digest("SHA-256", buf));
  }

  // Halving with arithmetic, not bit operators: tree sizes may exceed 2^31.
  function odd(n) { return n % 2 === 1; }
  function half(n) { return Math.floor(n / 2); }

  /* RFC 9162 §2.1.3.2: the root implied by `leaf` at `index` in a tree of `size` and the audit path. */
  async function rootFromInclusion(index, size, leaf, path) {
    if (!(index >= 0 && index < size)) throw new Error("index out of range");
    let fn = index, sn = size - 1, r = leaf;
    for (const p of path) {
      if (p.length !== 32) throw new Error("proof hash is not 32 bytes");
      if (sn === 0) throw new Error("proof longer than the path to the root");
      if (odd(fn) || fn === sn) {
        r = await nodeHash(p, r);
        while (!odd(fn) && fn !== 0) { fn = half(fn); sn = half(sn); }
      } else {
        r = await nodeHash(r, p);
      }
      fn = half(fn);
      sn = half(sn);
    }
    if (sn !== 0) throw new Error("proof shorter than the path to the root");
    return r;
  }

  function show(el, ok, detail) {
    el.textContent = ok === null ? detail : (ok ? el.dataset.ok : el.dataset.fail) + (detail ? " " + detail : "");
    el.dataset.state = ok === null ? "unsupported" : (ok ? "verified" : "failed");
    el.className = ok === null ? "pending" : (ok ? "ok" : "bad");
  }

  async function checkInclusion(d) {
    const root = await rootFromInclusion(d.index, d.size, fromB64(d.leaf), d.proof.map(fromB64));
    return { ok: equal(root, fromB64(d.root)), computed: toB64(root) };
  }

  /* The note must name the same size and root as shown, and its signature must verify. */
  async function checkSignature(d) {
    const lines = d.note.split("\n");
    if (lines[1] !== String(d.size) || lines[2] !== d.root) return false;
    const key = await crypto.subtle.importKey("raw", fromB64(d.public_key), { name: "Ed25519" }, false, ["verify"]);
    return crypto.subtle.verify({ name: "Ed25519" }, key, fromB64(d.signature), new TextEncoder().encode(d.note));
  }

  async function run() {
    const source = document.getElementById("proof-data");
    const result = document.getElementById("verify-result");
    const sig = document.getElementById("signature-result");
    if (!source || !result) return;
    const d = JSON.parse(source.textContent);
    if (!window.crypto || !crypto.subtle) {
      show(result, false, "(WebCrypto unavailable: open this page over HTTPS)");
      if (sig) show(sig, null, sig.dataset.unsupported);
      return;
    }
    try {
      const inc = await checkInclusion(d);
      show(result, inc.ok, inc.ok ? "" : "(computed root " + inc.computed + ")");
    } catch (e) {
      show(result, false, "(" + e.message + ")");
    }
    if (!sig) return;
    try {
      show(sig, await checkSignature(d), "");
    } catch (e) {
      if (e && e.name === "NotSupportedError") show(sig, null, sig.dataset.unsupported);
      else show(sig, false, "(" + e.message + ")");
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
  else run();
})();
