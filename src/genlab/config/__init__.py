"""Config layer: schema, resolvers and checks that run before any heavy import."""
