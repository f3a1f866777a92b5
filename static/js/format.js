// One way to write a size and a time left, the same as backups/rules.py (`human_bytes`,
// `format_time_left`), so the upload page writes "40 GB" and "about 3 min left" as the server's
// pages do. Both are tested against one table, tests/formatting_cases.json
// (tests/test_formatting.py runs this file with node).
//
// A plain script, not a module: pages load it before the scripts that use
// `window.backupsiteFormat`; node loads it through `module.exports`.
((root) => {
  "use strict";

  const UNITS = ["KB", "MB", "GB", "TB", "PB"];

  // Decimal units (1 KB = 1,000 bytes), one decimal rounded half up, ".0" dropped. BigInt, as
  // Python's integers: a float would round 44,250 bytes or a size of terabytes differently.
  function humanBytes(n) {
    let value = BigInt(Math.trunc(Number(n)));
    if (value < 0n) return `-${humanBytes(-value)}`;
    if (value < 1000n) return value === 1n ? "1 byte" : `${value} bytes`;
    let tenths = 0n;
    let unit = "";
    for (let power = 1; power <= UNITS.length; power += 1) {
      const base = 1000n ** BigInt(power);
      tenths = (value * 10n + base / 2n) / base;
      unit = UNITS[power - 1];
      if (tenths < 10000n) break;
    }
    const whole = tenths / 10n;
    const tenth = tenths % 10n;
    return tenth === 0n ? `${whole} ${unit}` : `${whole}.${tenth} ${unit}`;
  }

  // Rounded to the nearest minute; under a minute it says so rather than counting down.
  function timeLeft(seconds) {
    const s = Math.max(0, Math.trunc(seconds));
    if (s < 60) return "less than a minute left";
    const minutes = Math.floor((s + 30) / 60);
    if (minutes < 60) return `about ${minutes} min left`;
    if (s < 2 * 86400) {
      const h = Math.floor(minutes / 60);
      const m = minutes % 60;
      return m === 0 ? `about ${h} h left` : `about ${h} h ${m} min left`;
    }
    return `about ${Math.floor((s + 43200) / 86400)} days left`;
  }

  // Rounded down: a job that has run 4 min 59 s has not run 5 min.
  function elapsed(seconds) {
    const s = Math.max(0, Math.trunc(seconds));
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min`;
    if (s < 2 * 86400) {
      const h = Math.floor(s / 3600);
      const m = Math.floor(s / 60) % 60;
      return m === 0 ? `${h} h` : `${h} h ${m} min`;
    }
    return `${Math.floor(s / 86400)} days`;
  }

  const api = { humanBytes, timeLeft, elapsed };
  root.backupsiteFormat = api;
  if (typeof module === "object" && module.exports) module.exports = api;
})(typeof window === "undefined" ? globalThis : window);
