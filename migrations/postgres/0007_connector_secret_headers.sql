-- Secret headers: a connector's header rows may be secret (an API key in a second header, a
-- custom Authorization scheme). Their names stay in `headers`, as [name, null]; their values are
-- encrypted here together, as JSON [[name, value], ...], under their own data key version.
ALTER TABLE connectors ADD COLUMN header_secrets TEXT;
ALTER TABLE connectors ADD COLUMN header_secrets_key_version BIGINT REFERENCES vault_keys (version);
