"""One code template released to many tenants (commit, audit, release): in the control database."""
