package clientpolicy

// MinSecretLen is the shortest client secret monban accepts when the
// operator chooses it (monban apply's secret_file/secret_env, the admin
// API's client_secret): secrets are stored as SHA-256, which suits only
// high-entropy values (a generated one has 43 characters).
const MinSecretLen = 32

// MaxSecretLen is the longest chosen client secret accepted.
const MaxSecretLen = 512
