// The archive format shared by the archiver (writes), replay and the verifier's audit (read).
export * from './lib/archive-line';
export * from './lib/archive-reader';
export * from './lib/archive-store';
export * from './lib/object-key';
export * from './lib/time-partitioner';
