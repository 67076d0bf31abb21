package config

// Archive is retention and the archive to S3-compatible object storage
// (SPEC §12).
type Archive struct {
	// RetentionDays is the default retention of Closed sessions before
	// they are archived and removed (0: kept for ever). [[domain]] and
	// queue addresses may override it.
	RetentionDays   int    `toml:"retention_days"`
	Endpoint        string `toml:"endpoint"` // empty: AWS
	Region          string `toml:"region"`
	Bucket          string `toml:"bucket"`
	Prefix          string `toml:"prefix"`
	CredentialsFile string `toml:"credentials_file"`
	TLS             *bool  `toml:"tls"` // default true; false only for a loopback endpoint
	PathStyle       bool   `toml:"path_style"`
}
