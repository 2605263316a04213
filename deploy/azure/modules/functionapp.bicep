// The detector: a Function App on the Flex Consumption plan running the Go
// custom handler (functions/azure-detector, runtime "custom"), with a
// system-assigned managed identity that it uses for everything: the host's
// storage, the deployment container, the findings table, the Key Vault
// references, the findings topic and ARM (roles granted at subscription
// scope by subscription-roles.bicep).
//
// Flex Consumption declares the runtime in functionAppConfig.runtime and
// refuses FUNCTIONS_WORKER_RUNTIME, so that setting is absent.

param name string
param location string
param tags object = {}

param storageAccountName string
param deploymentContainerName string
param tableName string
param tableEndpoint string
param insightsConnectionString string
param vaultName string

@description('Set the SLACK_TOKEN app setting to a reference to the vault secret slack-token.')
param slack bool = false

@description('Set the JIRA_API_TOKEN app setting to a reference to the vault secret jira-api-token.')
param jira bool = false

@description('Name of the Event Grid topic (in this resource group) findings are published to; empty for none.')
param findingsTopicName string = ''

@description('Endpoint of that topic.')
param findingsTopicEndpoint string = ''

@description('on: the detector may revert (the write roles are granted by subscription-roles.bicep); off: it only reports.')
@allowed([
  'on'
  'off'
])
param autoRevert string = 'off'

@description('Log level of the handler: debug, info, warn or error.')
@allowed([
  'debug'
  'info'
  'warn'
  'error'
])
param logLevel string = 'info'

@description('More app settings (name: value), e.g. the Slack channel or the Jira project; they override the ones set here.')
param appSettings object = {}

@description('Most instances the app scales out to (40-1000).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory of one instance.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 512

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource findingsTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' existing = {
  name: '${storageAccountName}/default/${tableName}'
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: vaultName
}

resource findingsTopic 'Microsoft.EventGrid/topics@2022-06-15' existing = if (!empty(findingsTopicName)) {
  name: findingsTopicName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225:Flex Consumption zone redundancy is offered in some regions only; a missed event is redelivered by Event Grid (24 h of retries), so a zonal outage delays detection rather than losing it
  name: 'plan-${name}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true // Linux
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222:Event Grid pushes events to the function over its public endpoint (AzureFunction destination), as it does to the optional webhook route
  // checkov:skip=CKV_AZURE_17:callers are Event Grid (through the Functions host, or the webhook route), which presents no client certificate
  // checkov:skip=CKV_AZURE_212:numberOfWorkers is a dedicated-plan setting; Flex Consumption scales instances per event (maximumInstanceCount)
  // checkov:skip=CKV_AZURE_213:health check pings dedicated instances; Flex Consumption has no always-on instances to probe
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Event Grid delivers to the function over its public endpoint.
    publicNetworkAccess: 'Enabled'
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'custom'
        version: '1.0'
      }
    }
  }
}

// Deployments authenticate with Microsoft Entra ID (az functionapp
// deployment source config-zip uses the caller's token), never with
// publishing passwords.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

var keyVaultReference = 'SecretUri=${vault.properties.vaultUri}secrets'
var baseSettings = {
  AzureWebJobsStorage__accountName: storage.name
  AzureWebJobsStorage__credential: 'managedidentity'
  APPLICATIONINSIGHTS_CONNECTION_STRING: insightsConnectionString
  LOG_LEVEL: logLevel
  DRIFTWATCH_SUBSCRIPTION_ID: subscription().subscriptionId
  DRIFTWATCH_OWN_PRINCIPALS: site.identity.principalId
  DRIFTWATCH_AUTO_REVERT: autoRevert
  DRIFTWATCH_TABLE_ENDPOINT: tableEndpoint
  DRIFTWATCH_TABLE_NAME: tableName
  DRIFTWATCH_EVENTGRID_ENDPOINT: findingsTopicEndpoint
}
var slackSettings = slack ? { SLACK_TOKEN: '@Microsoft.KeyVault(${keyVaultReference}/slack-token/)' } : {}
var jiraSettings = jira ? { JIRA_API_TOKEN: '@Microsoft.KeyVault(${keyVaultReference}/jira-api-token/)' } : {}

// App settings are a separate resource because one of them is the site's
// own identity (driftwatch ignores its own reverts). appSettings, given
// last, overrides.
resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  // checkov applies its site-configuration checks to every sites/config resource; this one is 'appsettings', a map of settings, where they do not apply:
  // checkov:skip=CKV_AZURE_13:Event Grid deliveries come through the Functions host with the system key; the webhook route checks a shared secret or an Entra token itself (DRIFTWATCH_WEBHOOK_SECRET; without one it refuses everything)
  // checkov:skip=CKV_AZURE_63:HTTP logging is a web-server setting; the handler's logs and the host's go to Application Insights
  // checkov:skip=CKV_AZURE_65:detailed error pages are a web-server setting; see CKV_AZURE_63
  // checkov:skip=CKV_AZURE_66:failed request tracing is a web-server setting; see CKV_AZURE_63
  // checkov:skip=CKV_AZURE_80:no .NET: the handler is a Go binary (runtime custom)
  // checkov:skip=CKV_AZURE_88:Flex Consumption runs the package from the deployment blob container and does not mount Azure Files
  // checkov:skip=CKV_AZURE_222:public network access is a site property, set on the site (see its skip)
  parent: site
  name: 'appsettings'
  properties: union(baseSettings, slackSettings, jiraSettings, appSettings)
  dependsOn: [
    hostStorageRole
    secretsRole
  ]
}

// Role definitions (built-in, the same ID in every tenant).
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var eventGridDataSender = 'd5a91429-5739-47e2-a06b-3470a27159e7'

// The host keeps its state in blobs (with leases) and Flex reads the
// package from the deployment container: Storage Blob Data Owner on the
// account, as AzureWebJobsStorage with an identity requires.
resource hostStorageRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, site.id, storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwner)
    principalId: site.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// The finding store: this one table only.
resource tableRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(findingsTable.id, site.id, storageTableDataContributor)
  scope: findingsTable
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributor)
    principalId: site.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Key Vault references in the app settings.
resource secretsRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, site.id, keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
    principalId: site.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Publishing findings (the topic accepts Entra tokens only).
resource senderRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(findingsTopicName)) {
  name: guid(findingsTopic.id, site.id, eventGridDataSender)
  scope: findingsTopic
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', eventGridDataSender)
    principalId: site.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

output name string = site.name
output id string = site.id
output principalId string = site.identity.principalId
output hostName string = site.properties.defaultHostName
