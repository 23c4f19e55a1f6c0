export const SHIPPER_ENV = Symbol('SHIPPER_ENV');
