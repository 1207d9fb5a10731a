// Command registry is the CNCF distribution registry with only the parts the tests use: the
// filesystem and in-memory storage drivers and htpasswd auth. Leaving out the cloud drivers
// (S3, Azure, GCS) and their SDKs cuts the cold build from about 18 minutes to a few.
package main

import (
	"os"

	"github.com/distribution/distribution/v3/registry"
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
)

func main() {
	if err := registry.RootCmd.Execute(); err != nil {
		os.Exit(1)
	}
}
