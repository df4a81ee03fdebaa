// Reads an MCAP file with the MCAP project's own TypeScript reader (@mcap/core), for
// tests/cli/mcap_test.cc: once with McapIndexedReader (through the footer, summary, chunk indexes
// and message indexes) and once with McapStreamReader (front to back), validating every CRC.
// Prints NDJSON: for each reader, a "summary" line, one line per channel, one per message.
// Times are strings so that no nanosecond is lost to JavaScript's doubles.
//   node read_mcap.mjs FILE
import { open, readFile } from "node:fs/promises";
import { McapIndexedReader, McapStreamReader } from "@mcap/core";
import { decompress } from "fzstd";

const decompressHandlers = {
  zstd: (data, size) => decompress(data, new Uint8Array(Number(size))),
};
const utf8 = new TextDecoder("utf-8", { fatal: true });

function print(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function channelLine(reader, channel, schemasById) {
  const schema = schemasById.get(channel.schemaId);
  print({
    kind: "channel", reader, id: channel.id, topic: channel.topic,
    message_encoding: channel.messageEncoding, schema_id: channel.schemaId,
    schema_encoding: schema ? schema.encoding : null,
  });
}

// data as NDJSON export shows it: json messages as their JSON, text ones as a string, anything
// else as base64.
function messageLine(reader, channel, m) {
  let data;
  if (channel.messageEncoding === "json") data = JSON.parse(utf8.decode(m.data));
  else if (channel.messageEncoding.startsWith("text/")) data = utf8.decode(m.data);
  else data = Buffer.from(m.data).toString("base64");
  print({
    kind: "message", reader, topic: channel.topic, log_time: m.logTime.toString(),
    publish_time: m.publishTime.toString(), sequence: m.sequence, data,
    // The message's JSON text exactly as stored: numbers JSON.parse would round are kept.
    json_text: channel.messageEncoding === "json" ? utf8.decode(m.data) : undefined,
  });
}

async function readIndexed(path) {
  const handle = await open(path, "r");
  try {
    const readable = {
      size: async () => BigInt((await handle.stat()).size),
      read: async (offset, length) => {
        const buf = new Uint8Array(Number(length));
        const { bytesRead } = await handle.read(buf, 0, buf.length, Number(offset));
        if (bytesRead !== buf.length) throw new Error(`short read at ${offset}`);
        return buf;
      },
    };
    const reader = await McapIndexedReader.Initialize({ readable, decompressHandlers });
    const stats = reader.statistics;
    print({
      kind: "summary", reader: "indexed", chunks: reader.chunkIndexes.length,
      compression: [...new Set(reader.chunkIndexes.map((c) => c.compression))],
      message_count: stats ? stats.messageCount.toString() : null,
      channel_count: stats ? stats.channelCount : null,
      chunk_count: stats ? stats.chunkCount : null,
      summary_offsets: [...reader.summaryOffsetsByOpcode.keys()].sort((a, b) => a - b),
      message_index_offsets: reader.chunkIndexes.reduce((n, c) => n + c.messageIndexOffsets.size, 0),
    });
    for (const channel of reader.channelsById.values()) channelLine("indexed", channel, reader.schemasById);
    for await (const m of reader.readMessages({ validateCrcs: true })) {
      messageLine("indexed", reader.channelsById.get(m.channelId), m);
    }
  } finally {
    await handle.close();
  }
}

async function readStream(path) {
  const reader = new McapStreamReader({ decompressHandlers, validateCrcs: true });
  reader.append(await readFile(path));
  const channels = new Map();
  const schemas = new Map();
  const opcodes = {};
  for (let record; (record = reader.nextRecord()); ) {
    opcodes[record.type] = (opcodes[record.type] ?? 0) + 1;
    if (record.type === "Schema") schemas.set(record.id, record);
    if (record.type === "Channel" && !channels.has(record.id)) {
      channels.set(record.id, record);
      channelLine("stream", record, schemas);
    }
    if (record.type === "Message") messageLine("stream", channels.get(record.channelId), record);
  }
  print({ kind: "summary", reader: "stream", done: reader.done(), records: opcodes });
}

const path = process.argv[2];
if (!path) {
  process.stderr.write("usage: node read_mcap.mjs FILE.mcap\n");
  process.exit(2);
}
try {
  await readIndexed(path);
  await readStream(path);
} catch (e) {
  process.stderr.write(`read_mcap.mjs: ${path}: ${e.message}\n`);
  process.exit(1);
}
