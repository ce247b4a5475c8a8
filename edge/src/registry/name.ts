/** The one Registry Durable Object: `env.REGISTRY.getByName(REGISTRY_NAME)`. */
export const REGISTRY_NAME = "global";
