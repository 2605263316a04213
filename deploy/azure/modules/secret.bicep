// One Key Vault secret. A module of its own so that the vault module can
// create it conditionally (only when a value is given, so that a deployment
// without the value keeps the stored one).

param vaultName string
param name string

@secure()
param value string

@description('What the secret holds, e.g. "Slack bot token".')
param contentType string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: vaultName
}

resource secret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: name
  // checkov:skip=CKV_AZURE_41:Slack and Jira tokens are rotated by their issuers, not on a schedule; an expiry here would silently stop notifications (docs/azure.md: rotation)
  properties: {
    value: value
    contentType: contentType
  }
}

output uri string = '${vault.properties.vaultUri}secrets/${name}/'
