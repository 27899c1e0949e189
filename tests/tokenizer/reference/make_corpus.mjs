// make_corpus.mjs - the tokenizer test corpus, generated deterministically.
//
//   node make_corpus.mjs > ../../data/tokenizers/corpus.jsonl
//
// One JSON object per line: {"text": "..."} for a Unicode string, or
// {"hex": "..."} for bytes that are not valid UTF-8 (the tokenizer sees the
// raw bytes; the reference sees them decoded with WHATWG replacement). The
// strings are built from the phrase lists below with a seeded generator, so
// running this again gives the same file byte for byte. Only scripts whose
// letters and digits were all assigned by Unicode 14 appear in the generated
// parts (PCRE2 10.42, which the runtime uses, knows Unicode 14; node knows a
// later version, and a letter new since then would be a letter to one side
// only).

// ---- A seeded generator (xorshift32 on a fixed seed) ------------------------
let state = 0x9e3779b9;
function next() {
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state;
}
const below = (n) => next() % n;
const pick = (list) => list[below(list.length)];
const chance = (percent) => below(100) < percent;
function repeat(n, fn) {
  const out = [];
  for (let i = 0; i < n; ++i) out.push(fn(i));
  return out;
}

// ---- Material ------------------------------------------------------------
const prose = [
  "The river was low that summer, and the stones along its bed turned white in the sun.",
  "Nobody in the village remembered who had planted the row of walnut trees by the mill.",
  "She folded the map twice, put it in her coat pocket, and walked toward the station.",
  "A compiler is a patient translator: it never tires, but it never guesses either.",
  "The meeting started at 9:30 and ended, to everyone's surprise, before ten o'clock.",
  "If the bridge is closed again tomorrow, we'll take the ferry across the bay.",
  "He wrote three drafts of the letter and sent none of them.",
  "Rain had been forecast for the afternoon; the sky stayed stubbornly blue.",
  "The library's reading room smelled of dust, paper and the radiators' warm metal.",
  "They couldn't agree on the colour of the door, so it stayed unpainted for a year.",
  "Every morning the baker lit the oven at four and the first loaves were out by six.",
  "The old clock in the hall gained a minute a day, and nobody minded much.",
  "I'd rather walk the long way round than wait another hour for the bus.",
  "Twenty-seven boxes arrived on Tuesday; only twenty-six were on the list.",
  "The garden at the back was small, but it caught the evening light beautifully.",
  "You're welcome to stay for dinner if you don't mind soup and bread again.",
  "What does a state-space model remember, and what does it quietly forget?",
  "The cat slept on the warm laptop keyboard, producing pages of the letter j.",
  "Measurements were taken every 15 minutes between 06:00 and 18:00 UTC.",
  "Please send the signed form back before Friday, 12 March, at the latest.",
  "The recipe called for 250 g of flour, 3 eggs and a pinch of salt.",
  "Ships waited outside the harbour for the tide to turn.",
  "It's not the speed of the machine that matters, it's what you ask of it.",
  "Their first apartment had a window that wouldn't close and a view worth it.",
  "We've tested the patch on four machines; two of them still show the bug.",
  "The choir sang in a church so cold that their breath was visible.",
  "At the end of the pier an old man was fishing with a line and no bait.",
  "Snow fell overnight and by morning the roads had disappeared.",
  "The children had built a fort out of cushions, chairs and a bedsheet.",
  "He'll say it was his idea, but we'll all know better.",
  "Numbers like 3.14159, 2.71828 and 1.41421 show up in surprising places.",
  "The museum's east wing reopened after eleven years of repairs.",
  "A small boat, painted green and yellow, was tied to the post by the steps.",
  "They'd driven four hundred kilometres without once turning on the radio.",
  "The exam had forty questions, and the last one was impossible.",
  "On clear nights you could see the lights of the next town across the valley.",
  "Tea or coffee? Neither, thanks; just a glass of water.",
  "The train stopped for no reason between two stations and then went on.",
  "Quietly, almost apologetically, the lamp flickered and went out.",
  "I'm sure we've met before, though I can't remember where.",
];

const words = (
  "time person year way day thing man world life hand part child eye woman place work week " +
  "case point government company number group problem fact be have do say get make go know " +
  "take see come think look want give use find tell ask seem feel try leave call good new " +
  "first last long great little own other old right big high different small large next " +
  "early young important few public bad same able to of in for on with at by from up about " +
  "into over after beneath under above the and a that I it not he as you this but his they " +
  "her she or an will my one all would there their what so out if who which go me when make " +
  "can like no just him know take people into year your good some could them see other than " +
  "then now look only come its over think also back after use two how our work first well way " +
  "even new want because any these give day most us tokenizer compiler kernel vector matrix " +
  "latency throughput bandwidth session stream decode prefill weights library runtime " +
  "internationalization antidisestablishmentarianism pneumonoultramicroscopic Mississippi " +
  "naïve café résumé coöperate façade jalapeño Zürich São Paulo"
).split(" ");

const punctuation = [".", ",", ";", ":", "!", "?", "...", " -", " --", " (", ")", "\"", "'",
                     "“", "”", "‘", "’", "«", "»", "—", "–", "…", "/", "&", "*", "#", "@"];

const contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Re", "'rE",
                      "'VE", "'M", "'LL", "'Ll", "'D", "n't", "N'T", "’s", "’ll", "'ſ", "'K",
                      "'ß", "'x", "''", "'", "'1", "' s"];

const phrases = {
  french: ["Bonjour à tous", "où est la gare ?", "C'était l'été", "déjà vu", "Ça va très bien",
           "l'œuvre complète", "une fenêtre ouverte", "À bientôt, Hélène", "Noël à Besançon"],
  german: ["Grüß Gott", "Straße und Brücke", "Fußgängerübergänge", "Ärger über Öl",
           "schöne Grüße aus München", "Donaudampfschifffahrtsgesellschaft", "weiß nicht"],
  spanish: ["¿Dónde está la biblioteca?", "¡Qué día tan bonito!", "el niño y la niña",
            "mañana por la mañana", "Ñandú en Paraguay", "acción y corazón"],
  portuguese: ["Não sei", "coração de ouro", "ação e reação", "São João", "avô e avó"],
  polish: ["Zażółć gęślą jaźń", "Łódź i Kraków", "dziękuję bardzo", "świętość"],
  czech: ["Příliš žluťoučký kůň úpěl ďábelské ódy", "Dobrý den"],
  turkish: ["İstanbul'da güzel bir gün", "Iğdır ve Şanlıurfa", "çalışkan öğrenci", "ıİiI"],
  vietnamese: ["Tiếng Việt có dấu", "Xin chào các bạn", "Hà Nội và Thành phố Hồ Chí Minh",
               "người Việt", "phở bò"],
  icelandic: ["Þetta reddast", "Ég heiti Guðrún", "Ísafjörður"],
  greek: ["Καλημέρα σας", "Ελληνικά γράμματα", "ΑΒΓΔ αβγδ", "ψυχή και σώμα", "Άγιος Νικόλαος"],
  russian: ["Привет, мир!", "Съешь же ещё этих мягких французских булок", "ЁЖИК в тумане",
            "Москва и Санкт-Петербург"],
  ukrainian: ["Слава Україні", "Їжачок і ґудзик", "Київ"],
  chinese: ["你好，世界！", "我们今天去公园散步。", "中华人民共和国", "机器学习模型", "汉字简体繁體",
            "一二三四五六七八九十", "这是一个测试句子，用来检查分词器。"],
  japanese: ["こんにちは世界", "カタカナとひらがな", "東京都渋谷区", "日本語の文章を分割する",
             "ｶﾀｶﾅ半角", "ありがとうございました。"],
  korean: ["안녕하세요", "대한민국 서울특별시", "한국어 형태소 분석기", "감사합니다"],
  arabic: ["مرحبا بالعالم", "اللغة العربية جميلة", "السلام عليكم ورحمة الله", "كتاب ٢٠٢٤",
           "مَدْرَسَةٌ"],
  hebrew: ["שלום עולם", "עברית מימין לשמאל", "ירושלים"],
  persian: ["سلام دنیا", "زبان فارسی", "۱۲۳۴ تومان"],
  hindi: ["नमस्ते दुनिया", "हिन्दी भाषा", "भारत गणराज्य", "क्षत्रिय", "२०२४ में"],
  bengali: ["বাংলা ভাষা", "আমি তোমাকে ভালোবাসি", "১২৩"],
  tamil: ["வணக்கம்", "தமிழ் மொழி"],
  thai: ["สวัสดีครับ", "ภาษาไทยไม่มีช่องว่างระหว่างคำ", "กรุงเทพมหานคร"],
  georgian: ["გამარჯობა", "ქართული ენა"],
  armenian: ["Բարեւ Ձեզ", "Հայերեն"],
  amharic: ["ሰላም ለዓለም", "አማርኛ"],
};
const languages = Object.keys(phrases);

const emoji = ["😀", "😂", "🥲", "👍", "👍🏽", "👍🏿", "❤️", "❤", "🔥", "✨", "🎉", "🇫🇷", "🇯🇵",
               "🇺🇸", "🏳️‍🌈", "🏴‍☠️", "👨‍👩‍👧‍👦", "👩🏽‍💻", "🧑‍🚀", "👁️‍🗨️", "1️⃣", "#️⃣",
               "©️", "™", "☕", "🍕🍕🍕", "🤷‍♀️", "🙇🏻‍♂️", "🫠", "🦀", "🐍", "⭐️", "✔︎", "♠️♥️♦️♣️",
               "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "👋🏼", "🧔🏾‍♀️", "💁‍♂️"];

const code = [
  "int main(int argc, char **argv) {\n  printf(\"hello %s\\n\", argv[0]);\n  return 0;\n}\n",
  "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
  "for (let i = 0; i < items.length; ++i) {\n\tconsole.log(`item ${i}: ${items[i]}`);\n}",
  "fn main() {\n    let v: Vec<u32> = (0..10).map(|x| x * x).collect();\n    println!(\"{:?}\", v);\n}",
  "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"hi\")\n}\n",
  "{\"name\": \"hybridc\", \"version\": \"0.1.0\", \"tags\": [\"a\", \"b\"], \"n\": 42, \"ok\": true}",
  "server:\n  port: 8080\n  hosts:\n    - alpha.example.org\n    - beta.example.org\n",
  "#!/bin/sh\nset -eu\nfor f in *.txt; do\n  wc -l \"$f\" | awk '{print $1}'\ndone\n",
  "SELECT id, name FROM users WHERE created_at >= '2024-01-01' ORDER BY name DESC LIMIT 10;",
  "<div class=\"card\">\n  <h1>Title &amp; more</h1>\n  <p>Text</p>\n</div>",
  "all: build\n\nbuild:\n\t$(CC) -O2 -Wall -o app main.c\n\nclean:\n\trm -f app\n",
  "template <typename T>\nstd::vector<T> twice(const std::vector<T> &v) {\n  return {v.begin(), v.end()};\n}",
  "x = [i ** 2 for i in range(100) if i % 3 == 0]  # squares\nprint(sum(x))",
  "const re = /^(?:[a-z0-9!#$%&'*+/=?^_`{|}~-]+)@example\\.com$/i;",
  "if (a != b && c <= d || !e) { x += 1; y -= 2; z *= 3; w /= 4; }",
  "    return self._cache.get(key, None)  # type: Optional[int]\n",
  "\t\t\tswitch (kind) {\n\t\t\tcase 0: break;\n\t\t\tdefault: return -1;\n\t\t\t}\n",
  "ptr->next->prev = ptr->prev; /* unlink */\n",
  "git commit -m \"Fix off-by-one in the scan's chunk loop\" && git push origin main",
  "a\tb\tc\n1\t2\t3\n4\t5\t6\n",
  "matrix[i][j] = (i == j) ? 1.0f : 0.0f;",
  "// TODO(someone): remove this hack once the API settles\n#define MAX(a, b) ((a) > (b) ? (a) : (b))",
  "    \"\"\"Docstring with 'quotes' and \"double quotes\".\"\"\"",
  "echo $((16#ff)) ${HOME:-/root} $'\\t'",
  "λx.λy.x y  -- lambda calculus; ∀x∈ℝ: x² ≥ 0",
];

const spaces = [" ", " ", " ", "  ", "   ", "    ", "\t", "\t\t", "\n", "\n", "\n\n", "\r\n",
                "\r", " \n", "\n ", "\u00a0", "\u3000", "\u2028", "\u2029", "\u0085", "\u180e",
                "\ufeff", "\u2009", "\u200a", "\u202f", "\u205f", "\u000b", "\u000c", "\u200b",
                "\u1680", "\u2000"];

const specialTexts = ["<|endoftext|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
                      "<|endofprompt|>", "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>",
                      "<|start_header_id|>", "<|end_header_id|>", "<|reserved_special_token_5|>",
                      "<|reserved_special_token_250|>", "<|start_of_text|>", "<|mask|>",
                      "<tool_call>", "<|start_of_role|>", "<|end_of_role|>"];
const specialNear = ["<|endoftext", "endoftext|>", "<|", "|>", "<|end", "<||>", "< |endoftext|>",
                     "<|ENDOFTEXT|>", "<tool_call", "tool_call>", "<|mask", "<<|mask|>>"];

// Code point ranges of scripts fully assigned by Unicode 14, for random text.
const blocks = [
  [0x20, 0x7e], [0xa0, 0x24f], [0x370, 0x377], [0x37a, 0x37f], [0x384, 0x38a],
  [0x38c, 0x38c], [0x38e, 0x3a1], [0x3a3, 0x3ff], [0x400, 0x52f], [0x531, 0x556],
  [0x561, 0x587], [0x5d0, 0x5ea], [0x620, 0x64a], [0x660, 0x669], [0x900, 0x97f],
  [0x980, 0x983], [0x985, 0x98c], [0xe01, 0xe3a], [0xe40, 0xe5b], [0x10d0, 0x10fa],
  [0x1e00, 0x1eff], [0x2000, 0x206f], [0x20a0, 0x20c0], [0x2100, 0x214f], [0x2190, 0x21ff],
  [0x2200, 0x22ff], [0x2460, 0x24ff], [0x2500, 0x257f], [0x3000, 0x303f], [0x3041, 0x3096],
  [0x30a1, 0x30fa], [0x4e00, 0x9fa5], [0xac00, 0xd7a3], [0xff01, 0xff5e], [0x1f300, 0x1f64f],
  [0x1f680, 0x1f6c5], [0x20000, 0x2a6d6]];

function randomCodePoints(n) {
  let s = "";
  for (let i = 0; i < n; ++i) {
    const [lo, hi] = pick(blocks);
    s += String.fromCodePoint(lo + below(hi - lo + 1));
  }
  return s;
}

function sentence() {
  const n = 3 + below(12);
  let s = "";
  for (let i = 0; i < n; ++i) {
    let w = pick(words);
    if (chance(10)) w = w.toUpperCase();
    else if (chance(15)) w = w[0].toUpperCase() + w.slice(1);
    if (chance(8)) w += pick(contractions);
    s += (i ? " " : "") + w;
    if (chance(12)) s += pick(punctuation);
  }
  return s + pick([".", "!", "?", "", "\n", " "]);
}

function mixed() {
  const parts = repeat(1 + below(5), () => {
    switch (below(7)) {
      case 0: return pick(prose);
      case 1: return sentence();
      case 2: return pick(phrases[pick(languages)]);
      case 3: return pick(emoji);
      case 4: return pick(code);
      case 5: return String(below(1000000));
      default: return pick(specialTexts);
    }
  });
  return parts.join(pick(spaces));
}

// Bytes that are not UTF-8 around valid text: every kind of maximal invalid
// subpart the WHATWG decoder replaces.
const invalid = [[0x80], [0xbf], [0xc0], [0xc1], [0xc0, 0xaf], [0xc2], [0xdf], [0xe0],
                 [0xe0, 0x80], [0xe0, 0x9f, 0x80], [0xe0, 0xa0], [0xed, 0xa0, 0x80],
                 [0xed, 0xbf, 0xbf], [0xef, 0xbf], [0xf0], [0xf0, 0x8f, 0xbf, 0xbf],
                 [0xf0, 0x90], [0xf0, 0x90, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf5],
                 [0xf8, 0x88, 0x80, 0x80, 0x80], [0xfe], [0xff], [0xc3, 0x28], [0xe2, 0x82, 0x28],
                 [0xe2, 0x28, 0xa1], [0xf0, 0x28, 0x8c, 0xbc], [0x80, 0x80, 0x80]];
function invalidBytes() {
  const out = [];
  const n = 1 + below(6);
  for (let i = 0; i < n; ++i) {
    if (chance(50)) out.push(...Buffer.from(pick([sentence(), pick(prose), pick(emoji), " ",
                                                  pick(phrases[pick(languages)])])));
    out.push(...pick(invalid));
  }
  return Buffer.from(out);
}

// ---- The corpus ----------------------------------------------------------
const corpus = [];
const text = (s) => corpus.push({ text: s });

// Edge cases: empty, every ASCII character alone, a few single code points.
text("");
for (let c = 0; c < 128; ++c) text(String.fromCharCode(c));
for (const s of ["é", "ß", "ſ", "K", "İ", "ﬁ", "Ω", "Å", "中", "🙂", "\u0301", "e\u0301",
                 "\u200d", "\ufffd", "\u{10ffff}", "\ue000", "\uffff"])
  text(s);

// A: English prose, B: word soup, C: contractions.
repeat(800, () => text(repeat(1 + below(4), () => pick(prose)).join(pick([" ", "\n", "\n\n", "  ", "\t"]))));
repeat(600, () => text(sentence()));
repeat(300, () => text(repeat(1 + below(6), () =>
  pick(words) + pick(contractions) + (chance(30) ? pick(contractions) : "")).join(pick([" ", "", "  ", "\n"]))));
// D: many scripts.
repeat(900, () => text(repeat(1 + below(4), () => pick(phrases[pick(languages)])).join(pick([" ", "", ", ", "\n", "  "]))));
// E: emoji with and without text.
repeat(400, () => text(repeat(1 + below(6), () => chance(60) ? pick(emoji) : pick(words)).join(pick(["", " ", "  "]))));
// F: source code, also re-indented and glued together.
repeat(500, () => {
  let s = repeat(1 + below(3), () => pick(code)).join(pick(["\n", "\n\n", ""]));
  if (chance(30)) s = s.replace(/^ {4}/gm, "\t");
  if (chance(20)) s = s.replace(/\n/g, "\r\n");
  if (chance(20)) s = "    " + s.replace(/\n/g, "\n    ");
  return text(s);
});
// G: runs of every kind of space.
repeat(600, () => text(repeat(1 + below(8), () =>
  chance(40) ? pick(words) : repeat(1 + below(5), () => pick(spaces)).join("")).join("")));
// H: digits of many kinds.
const digitRuns = () => {
  switch (below(9)) {
    case 0: return String(below(1000000000)) + String(below(1000000000));
    case 1: return `${below(1000)}.${below(100000)}`;
    case 2: return `${below(1000)},${String(below(1000)).padStart(3, "0")},${String(below(1000)).padStart(3, "0")}`;
    case 3: return `+1 (${below(900) + 100}) ${below(900) + 100}-${below(9000) + 1000}`;
    case 4: return `2024-${String(below(12) + 1).padStart(2, "0")}-${String(below(28) + 1).padStart(2, "0")}T${below(24)}:${below(60)}:00Z`;
    case 5: return "0x" + next().toString(16) + " " + (next() >>> 0).toString(2);
    case 6: return pick(words) + below(100000) + pick(words);
    case 7: return pick(["٠١٢٣٤٥٦٧٨٩", "०१२३४५६७८९", "１２３４５", "²³¹", "½¼¾", "Ⅻ Ⅳ ⅷ", "①②③", "۱۲۳"]);
    default: return String(below(10)).repeat(1 + below(40));
  }
};
repeat(500, () => text(repeat(1 + below(5), digitRuns).join(pick([" ", "", ", ", "\n"]))));
// I: special-token text, exact and near misses.
repeat(500, () => text(repeat(1 + below(5), () => {
  const r = below(10);
  if (r < 4) return pick(specialTexts);
  if (r < 6) return pick(specialNear);
  if (r < 8) return pick(words);
  return pick(spaces);
}).join(pick(["", " ", "  ", "\n"]))));
// J: invalid UTF-8.
repeat(300, () => corpus.push({ hex: invalidBytes().toString("hex") }));
// K: random code points from long-assigned blocks.
repeat(400, () => text(randomCodePoints(1 + below(40))));
// L: combining marks, jamo, conjuncts.
repeat(200, () => {
  const bases = ["a", "e", "o", "n", "ा", "क", "ᄀ", "한", "Z", "ی"];
  const marks = ["\u0301", "\u0300", "\u0308", "\u0327", "\u0303", "\u0336", "\u034f", "\u094d",
                 "\u0952", "\u1161", "\u11a8", "\u064b", "\u0670", "\u20dd", "\ufe0f"];
  return text(repeat(1 + below(10), () => pick(bases) + repeat(below(5), () => pick(marks)).join("")).join(pick(["", " "])));
});
// M: long texts.
repeat(20, () => text(repeat(30 + below(60), mixed).join(pick(["\n", " ", "\n\n"]))));
// Mixtures of everything.
repeat(300, () => text(mixed()));

for (const entry of corpus) process.stdout.write(JSON.stringify(entry) + "\n");
