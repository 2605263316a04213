// Key Vault for the integrations' secrets (Slack bot token, Jira API
// token). Access is by Azure RBAC only; purge protection keeps a deleted
// vault and its secrets recoverable for the retention period. The function
// reads the secrets through Key Vault references in its app settings
// (@Microsoft.KeyVault(SecretUri=...)), with its managed identity.

@description('Vault name: 3-24 letters, digits and hyphens, globally unique.')
@minLength(3)
@maxLength(24)
param name string

param location string
param tags object = {}

@description('Slack bot token (xoxb-...) to store as secret slack-token; empty leaves the secret as it is.')
@secure()
param slackToken string = ''

@description('Jira API token to store as secret jira-api-token; empty leaves the secret as it is.')
@secure()
param jiraApiToken string = ''

@description('Days a deleted vault or secret can be recovered (7-90).')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 90

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109:the Functions platform resolves Key Vault references over the public endpoint (no VNet integration); every read still needs the Key Vault Secrets User role (RBAC mode)
  // checkov:skip=CKV_AZURE_189:same as CKV_AZURE_109
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      // Key Vault references are resolved by the Functions platform over
      // the public endpoint (no VNet integration here); access still needs
      // an RBAC role.
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

module slackSecret 'secret.bicep' = if (!empty(slackToken)) {
  name: 'driftwatch-secret-slack'
  params: {
    vaultName: vault.name
    name: 'slack-token'
    value: slackToken
    contentType: 'text/plain; Slack bot token'
  }
}

module jiraSecret 'secret.bicep' = if (!empty(jiraApiToken)) {
  name: 'driftwatch-secret-jira'
  params: {
    vaultName: vault.name
    name: 'jira-api-token'
    value: jiraApiToken
    contentType: 'text/plain; Jira API token'
  }
}

output name string = vault.name
output id string = vault.id
output uri string = vault.properties.vaultUri
