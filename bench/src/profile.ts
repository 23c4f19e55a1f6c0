// What a V8 CPU profile (`node --cpu-prof`) says about a run, window by window: whether garbage
// collection, waiting or one function takes a growing share as the run goes on.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** The parts of a `.cpuprofile` a summary reads. */
export interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
    readonly children?: readonly number[];
  }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ProfileWindow {
  readonly fromSeconds: number;
  readonly toSeconds: number;
  /** Shares of the window's sampled time, in per cent. */
  readonly gcPercent: number;
  readonly idlePercent: number;
  /** The functions with the most time of their own, in per cent of the window's busy (not idle) time. */
  readonly top: readonly { readonly frame: string; readonly percent: number }[];
}

const IDLE = '(idle)';
const GC = '(garbage collector)';

function frameName(frame: CpuProfile['nodes'][number]['callFrame']): string {
  if (frame.url === '') return frame.functionName || '(anonymous)';
  return `${frame.functionName || '(anonymous)'} ${path.basename(frame.url)}:${frame.lineNumber + 1}`;
}

const percent = (part: number, whole: number): number => (whole > 0 ? Math.round((1000 * part) / whole) / 10 : 0);

/** The profile in `windows` equal spans of time, each with its GC and idle shares and its `top` functions. */
export function summarizeProfile(profile: CpuProfile, windows: number, top = 5): ProfileWindow[] {
  const names = new Map(profile.nodes.map((node) => [node.id, frameName(node.callFrame)]));
  const stamps: number[] = [];
  let clock = 0;
  for (const delta of profile.timeDeltas) stamps.push((clock += delta));
  const span = clock / windows;
  return Array.from({ length: windows }, (_, w) => {
    const self = new Map<string, number>();
    let total = 0;
    profile.samples.forEach((id, i) => {
      const at = stamps[i] ?? 0;
      if (at < w * span || (at >= (w + 1) * span && w < windows - 1)) return;
      const delta = profile.timeDeltas[i] ?? 0;
      const name = names.get(id) ?? '(unknown)';
      self.set(name, (self.get(name) ?? 0) + delta);
      total += delta;
    });
    const idle = self.get(IDLE) ?? 0;
    const busy = total - idle;
    const ranked = [...self.entries()].filter(([name]) => name !== IDLE && name !== GC).sort((a, b) => b[1] - a[1]);
    return {
      fromSeconds: Math.round((w * span) / 1e5) / 10,
      toSeconds: Math.round(((w + 1) * span) / 1e5) / 10,
      gcPercent: percent(self.get(GC) ?? 0, total),
      idlePercent: percent(idle, total),
      top: ranked.slice(0, top).map(([frame, time]) => ({ frame, percent: percent(time, busy) })),
    };
  });
}

/**
 * Where a process's busy time goes by whole call stack: each sample counts for the first group
 * (in the order given) that any frame of its stack belongs to, by the frame's script URL, or for
 * `other`; garbage collection is a group of its own. Shares in per cent of the busy (not idle) time.
 */
export function stackShares(profile: CpuProfile, groups: Readonly<Record<string, RegExp>>): Record<string, number> {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const named = Object.entries(groups);
  const time = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const leaf = byId.get(id)?.callFrame.functionName;
    if (leaf === IDLE) return;
    const delta = profile.timeDeltas[i] ?? 0;
    busy += delta;
    let group = leaf === GC ? 'garbage collection' : undefined;
    const urls: string[] = [];
    for (let at: number | undefined = id; at !== undefined && group === undefined; at = parent.get(at))
      urls.push(byId.get(at)?.callFrame.url ?? '');
    group ??= named.find(([, pattern]) => urls.some((url) => pattern.test(url)))?.[0] ?? 'other';
    time.set(group, (time.get(group) ?? 0) + delta);
  });
  return Object.fromEntries([...time].sort((a, b) => b[1] - a[1]).map(([group, t]) => [group, percent(t, busy)]));
}

/** The newest `.cpuprofile` in a folder, read; undefined when there is none. */
export function newestProfile(folder: string): CpuProfile | undefined {
  let files: string[];
  try {
    files = readdirSync(folder).filter((name) => name.endsWith('.cpuprofile'));
  } catch {
    return undefined;
  }
  const newest = files.map((name) => path.join(folder, name)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  return newest === undefined ? undefined : (JSON.parse(readFileSync(newest, 'utf8')) as CpuProfile);
}

export function profileLines(windows: readonly ProfileWindow[]): string[] {
  return windows.map(
    (w) =>
      `  ${w.fromSeconds}-${w.toSeconds} s: GC ${w.gcPercent} %, idle ${w.idlePercent} %; ${w.top.map((t) => `${t.frame} ${t.percent} %`).join(', ')}`,
  );
}
