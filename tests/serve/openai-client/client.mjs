// Drives `hybridc serve` with OpenAI's official Node client, as any
// application would; prints one JSON object of what it saw, which
// tests/serve/test_openai_client.py checks.
//   node client.mjs NODE_MODULES_DIR BASE_URL
import { createRequire } from "node:module";
import path from "node:path";

const [modules, baseURL] = process.argv.slice(2);
const require = createRequire(path.resolve(modules, "index.js"));
const { default: OpenAI } = await import(require.resolve("openai"));

const client = new OpenAI({ baseURL, apiKey: "test-key", maxRetries: 0, timeout: 60000 });
const out = {};

// A streamed chat completion.
const stream = await client.chat.completions.create({
  model: "chat",
  messages: [{ role: "user", content: "Say something." }],
  max_tokens: 8, temperature: 0, stream: true, stream_options: { include_usage: true },
});
const pieces = [];
let finish = null, usage = null;
for await (const chunk of stream) {
  if (chunk.usage) usage = chunk.usage;
  for (const c of chunk.choices) {
    if (c.delta?.content) pieces.push(c.delta.content);
    if (c.finish_reason) finish = c.finish_reason;
  }
}
out.streamed = { text: pieces.join(""), finish, usage };

// The same, whole.
const whole = await client.chat.completions.create({
  model: "chat", messages: [{ role: "user", content: "Say something." }],
  max_tokens: 8, temperature: 0,
});
out.whole = { text: whole.choices[0].message.content, finish: whole.choices[0].finish_reason,
              usage: whole.usage };

// A completion.
const completion = await client.completions.create({
  model: "chat", prompt: "Once upon a time", max_tokens: 6, temperature: 0,
});
out.completion = { text: completion.choices[0].text, finish: completion.choices[0].finish_reason,
                   usage: completion.usage };

// A tool-call round trip: the tools offered, then the assistant's call and
// the tool's result sent back, as an agent loop does.
const tools = [{ type: "function", function: {
  name: "get_weather", description: "The weather in a city.",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } }];
const asked = await client.chat.completions.create({
  model: "chat", messages: [{ role: "user", content: "Weather in Paris?" }], tools,
  max_tokens: 8, temperature: 0,
});
const answered = await client.chat.completions.create({
  model: "chat", tools, max_tokens: 8, temperature: 0,
  messages: [
    { role: "user", content: "Weather in Paris?" },
    { role: "assistant", content: null, tool_calls: [{ id: "call_0", type: "function",
      function: { name: "get_weather", arguments: "{\"city\": \"Paris\"}" } }] },
    { role: "tool", tool_call_id: "call_0", content: "{\"temperature\": 21}" },
  ],
});
out.tools = { asked: asked.usage.prompt_tokens, answered: answered.usage.prompt_tokens,
              finish: answered.choices[0].finish_reason,
              message: answered.choices[0].message };

// An error: the client raises it with the server's status and message.
try {
  await client.chat.completions.create({ model: "gpt-4", messages: [{ role: "user", content: "x" }] });
  out.error = null;
} catch (e) {
  out.error = { status: e.status, message: e.message, name: e.constructor.name,
                param: e.param ?? e.error?.param ?? null };
}

// The model list.
const models = [];
for await (const m of client.models.list()) models.push(m.id);
out.models = models;

console.log(JSON.stringify(out));
