import pkg from "../package.json" with { type: "json" };

/** The appliance's own version (package.json), shown by `capx-appliance version` and /version. */
export const VERSION: string = pkg.version;
