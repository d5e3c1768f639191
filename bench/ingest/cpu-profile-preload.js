// Preloaded into ingest (NODE_OPTIONS=--require) by `bench/ingest.ts --cpu-prof FILE`: samples the
// main thread from start-up and writes a .cpuprofile when the file FILE.trigger appears. (node
// --cpu-prof writes only on a normal exit, and Nest re-raises SIGTERM after its shutdown hooks, so
// that profile never appears. A signal can't be the trigger either: Nest's shutdown hooks listen
// to SIGUSR2 among others, so ingest would shut down right after the profile.)
const inspector = require('node:inspector');
const { existsSync, writeFileSync } = require('node:fs');
const out = process.env.BENCH_CPU_PROFILE;
if (out) {
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval: 500 }, () => session.post('Profiler.start')));
  const poll = setInterval(() => {
    if (!existsSync(`${out}.trigger`)) return;
    clearInterval(poll);
    session.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(out, JSON.stringify(result.profile));
      writeFileSync(`${out}.done`, err ? String(err) : 'ok');
    });
  }, 100);
  poll.unref();
}
