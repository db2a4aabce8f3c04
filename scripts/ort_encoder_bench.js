// Times an image-encoder ONNX model in ONNX Runtime (onnxruntime-node, CPU provider, all graph
// optimizations, sequential execution) on a raw float32 NCHW input written by
// `birkhoff bench model --save-input`. Prints one JSON line: median/min ms over the timed runs.
// Usage: node ort_encoder_bench.js MODULE_DIR ENCODER.onnx INPUT.f32 THREADS RUNS
'use strict';
const fs = require('fs');
const path = require('path');

async function main() {
  const [moduleDir, modelPath, inputPath, threadsArg, runsArg] = process.argv.slice(2);
  if (!runsArg) {
    console.error('usage: node ort_encoder_bench.js MODULE_DIR ENCODER.onnx INPUT.f32 THREADS RUNS');
    process.exit(2);
  }
  const ort = require(path.join(moduleDir, 'onnxruntime-node'));
  const threads = parseInt(threadsArg, 10);
  const runs = parseInt(runsArg, 10);
  const session = await ort.InferenceSession.create(modelPath, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
  });
  const bytes = fs.readFileSync(inputPath);
  const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const side = Math.round(Math.sqrt(data.length / 3));
  if (3 * side * side !== data.length) throw new Error(`${inputPath}: not a 3xNxN float32 tensor`);
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [1, 3, side, side]) };
  await session.run(feeds);  // warm-up
  const times = [];
  for (let i = 0; i < runs; ++i) {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ threads, runs, median_ms: times[Math.floor(runs / 2)], min_ms: times[0] }));
}

main().catch((e) => { console.error(`ort_encoder_bench: ${e.message}`); process.exit(1); });
