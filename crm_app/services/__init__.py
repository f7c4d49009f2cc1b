"""Use cases. The only layer that writes; every call is scoped to the actor's tenant."""
