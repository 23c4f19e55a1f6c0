export const ARCHIVER_ENV = Symbol('ARCHIVER_ENV');
export const ARCHIVER_PRODUCER = Symbol('ARCHIVER_PRODUCER');
export const ARCHIVER_TRANSPORT = Symbol('ARCHIVER_TRANSPORT');
export const ARCHIVE_STORE = Symbol('ARCHIVE_STORE');
