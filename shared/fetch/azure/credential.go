package azure

import (
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// CredentialKind chooses how the Reader (and the revert package)
// authenticate to ARM.
type CredentialKind string

// Credential kinds.
const (
	// CredentialDefault is azidentity's default chain: environment
	// variables (AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET...),
	// workload identity, managed identity, then the Azure CLI and
	// Developer CLI. For local runs.
	CredentialDefault CredentialKind = "default"
	// CredentialManagedIdentity is the managed identity of the Function
	// App (system-assigned, or the user-assigned one whose client ID is
	// given). For runs in Azure.
	CredentialManagedIdentity CredentialKind = "managed-identity"
)

// NewCredential returns the credential of kind. For
// CredentialManagedIdentity, clientID selects a user-assigned identity
// (empty: system-assigned); the default chain takes no client ID (it reads
// AZURE_CLIENT_ID).
func NewCredential(kind CredentialKind, clientID string) (azcore.TokenCredential, error) {
	switch kind {
	case CredentialDefault, "":
		if clientID != "" {
			return nil, fmt.Errorf("default Azure credential: a client ID is chosen with AZURE_CLIENT_ID, not %q", clientID)
		}
		c, err := azidentity.NewDefaultAzureCredential(nil)
		if err != nil {
			return nil, fmt.Errorf("create default Azure credential: %w", err)
		}
		return c, nil
	case CredentialManagedIdentity:
		opts := &azidentity.ManagedIdentityCredentialOptions{}
		if clientID != "" {
			opts.ID = azidentity.ClientID(clientID)
		}
		c, err := azidentity.NewManagedIdentityCredential(opts)
		if err != nil {
			return nil, fmt.Errorf("create managed identity credential: %w", err)
		}
		return c, nil
	}
	return nil, fmt.Errorf("unknown Azure credential kind %q (want %q or %q)", kind, CredentialDefault, CredentialManagedIdentity)
}
