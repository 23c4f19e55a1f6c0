import { base, en, Faker } from '@faker-js/faker';
import { HttpMethod, WebLog } from '@weblog/kafka-common';

type Weighted<T> = readonly { readonly weight: number; readonly value: T }[];

interface Route {
  readonly methods: Weighted<HttpMethod>;
  readonly path: (faker: Faker) => string;
}

const get: Weighted<HttpMethod> = [{ weight: 1, value: 'GET' }];

/** A small shop's site map: what a real access log of one site looks like. */
const SITE_MAP: Weighted<Route> = [
  { weight: 14, value: { methods: get, path: () => '/' } },
  {
    weight: 12,
    value: {
      methods: get,
      path: (f) => `/products?category=${f.commerce.department().toLowerCase()}&page=${f.number.int({ min: 1, max: 20 })}`,
    },
  },
  { weight: 20, value: { methods: get, path: (f) => `/products/${f.number.int({ min: 1000, max: 9999 })}` } },
  {
    weight: 5,
    value: {
      methods: [
        { weight: 3, value: 'GET' },
        { weight: 1, value: 'POST' },
      ],
      path: (f) => `/products/${f.number.int({ min: 1000, max: 9999 })}/reviews`,
    },
  },
  {
    weight: 8,
    value: {
      methods: get,
      path: (f) =>
        `/search?q=${encodeURIComponent(f.commerce.productAdjective().toLowerCase())}+${encodeURIComponent(f.commerce.product().toLowerCase())}`,
    },
  },
  {
    weight: 8,
    value: {
      methods: [
        { weight: 5, value: 'GET' },
        { weight: 3, value: 'POST' },
        { weight: 1, value: 'DELETE' },
      ],
      path: () => '/cart',
    },
  },
  {
    weight: 3,
    value: {
      methods: [
        { weight: 1, value: 'GET' },
        { weight: 2, value: 'POST' },
      ],
      path: () => '/checkout',
    },
  },
  {
    weight: 4,
    value: {
      methods: [
        { weight: 1, value: 'GET' },
        { weight: 1, value: 'POST' },
      ],
      path: () => '/login',
    },
  },
  {
    weight: 6,
    value: {
      methods: [
        { weight: 5, value: 'GET' },
        { weight: 2, value: 'PUT' },
        { weight: 1, value: 'PATCH' },
        { weight: 1, value: 'DELETE' },
      ],
      path: (f) => `/api/v1/orders/${f.number.int({ min: 100000, max: 999999 })}`,
    },
  },
  { weight: 3, value: { methods: [{ weight: 1, value: 'POST' }], path: () => '/api/v1/orders' } },
  {
    weight: 10,
    value: {
      methods: get,
      path: (f) =>
        `/static/${f.helpers.arrayElement(['js/app', 'js/vendor', 'css/main'])}.${f.string.hexadecimal({ length: 8, casing: 'lower', prefix: '' })}.${f.helpers.arrayElement(['js', 'css'])}`,
    },
  },
  { weight: 4, value: { methods: get, path: (f) => `/blog/${f.lorem.slug(3)}` } },
  {
    weight: 2,
    value: {
      methods: [
        { weight: 4, value: 'GET' },
        { weight: 1, value: 'HEAD' },
        { weight: 1, value: 'OPTIONS' },
      ],
      path: () => '/health',
    },
  },
];

/** Status classes as a busy site sees them: mostly success, a tail of redirects and errors. */
const STATUS: Weighted<number> = [
  { weight: 78, value: 200 },
  { weight: 3, value: 201 },
  { weight: 2, value: 204 },
  { weight: 2, value: 301 },
  { weight: 2, value: 302 },
  { weight: 4, value: 304 },
  { weight: 1, value: 400 },
  { weight: 1, value: 401 },
  { weight: 1, value: 403 },
  { weight: 4, value: 404 },
  { weight: 0.5, value: 429 },
  { weight: 1, value: 500 },
  { weight: 0.25, value: 502 },
  { weight: 0.25, value: 503 },
];

interface Client {
  readonly ip: string;
  readonly userAgent: string;
}

export interface WebLogFactoryOptions {
  /** Same seed, same records (given the same clock). */
  readonly seed?: number;
  /** Clients that come back; most requests come from them. */
  readonly returningClients?: number;
  /** Share of requests from a one-off client. */
  readonly newClientShare?: number;
  /** Share of clients with an IPv6 address. */
  readonly ipv6Share?: number;
  readonly clock?: () => Date;
}

/**
 * Realistic web logs from Faker: a fixed site map, weighted methods and statuses, a pool of
 * returning clients (each with its own user agent) plus one-off visitors, some on IPv6.
 */
export class WebLogFactory {
  private readonly faker: Faker;
  private readonly clients: Client[];
  private readonly newClientShare: number;
  private readonly ipv6Share: number;
  private readonly clock: () => Date;

  constructor(options: WebLogFactoryOptions = {}) {
    this.faker = new Faker({ locale: [en, base] });
    if (options.seed !== undefined) this.faker.seed(options.seed);
    this.newClientShare = options.newClientShare ?? 0.15;
    this.ipv6Share = options.ipv6Share ?? 0.1;
    this.clock = options.clock ?? (() => new Date());
    this.clients = Array.from({ length: options.returningClients ?? 500 }, () => this.newClient());
  }

  next(): WebLog {
    const f = this.faker;
    const client = f.datatype.boolean({ probability: this.newClientShare }) ? this.newClient() : this.returningClient();
    const route = this.pick(SITE_MAP);
    const method = this.pick(route.methods);
    return {
      event_id: f.string.uuid(),
      ip: client.ip,
      timestamp: this.clock().toISOString(),
      method,
      url: route.path(f),
      status_code: this.status(method),
      user_agent: client.userAgent,
    };
  }

  private status(method: HttpMethod): number {
    const status = this.pick(STATUS);
    if (status === 201 && method === 'GET') return 200;
    if (status === 200 && method === 'POST') return 201;
    if (status === 200 && method === 'DELETE') return 204;
    return status;
  }

  private newClient(): Client {
    const f = this.faker;
    const ip = f.datatype.boolean({ probability: this.ipv6Share }) ? f.internet.ipv6() : f.internet.ipv4();
    return { ip, userAgent: f.internet.userAgent() };
  }

  /** Returning clients are not equally busy: lower indexes come back far more often. */
  private returningClient(): Client {
    const index = Math.floor(this.clients.length * this.faker.number.float({ min: 0, max: 1 }) ** 2);
    return this.clients[Math.min(index, this.clients.length - 1)];
  }

  private pick<T>(options: Weighted<T>): T {
    const total = options.reduce((sum, option) => sum + option.weight, 0);
    let ticket = this.faker.number.float({ min: 0, max: total });
    for (const option of options) {
      ticket -= option.weight;
      if (ticket <= 0) return option.value;
    }
    return (options[options.length - 1] as { value: T }).value;
  }
}
