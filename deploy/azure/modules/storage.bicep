// Storage for driftwatch: the Flex Consumption deployment container, the
// Event Grid dead-letter container, the findings table (shared/state/table)
// and the Functions host's own storage (AzureWebJobsStorage). Every client
// authenticates with Microsoft Entra ID (managed identities), so shared-key
// access is off.

@description('Storage account name: 3-24 lowercase letters and digits, globally unique.')
@minLength(3)
@maxLength(24)
param name string

param location string
param tags object = {}

@description('Blob container the function package is deployed to.')
param deploymentContainerName string = 'deployments'

@description('Blob container Event Grid writes undeliverable events to.')
param deadLetterContainerName string = 'deadletters'

@description('Table of findings and processed event IDs.')
param tableName string = 'findings'

@description('Replication. Zone-redundant by default; Standard_LRS where the region has no availability zones.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param sku string = 'Standard_ZRS'

@description('Days deleted blobs and containers are kept.')
param softDeleteDays int = 7

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35:the Flex Consumption function (no VNet integration) and Event Grid dead-lettering reach the account over its public endpoint; shared keys are off, so every request needs an Entra role
  // checkov:skip=CKV_AZURE_59:same as CKV_AZURE_35: public endpoint on, Entra-only access
  // checkov:skip=CKV_AZURE_206:findings and dead letters are small and rebuildable (a finding reopens on the next change); zone-redundant by default, pass sku=Standard_GZRS for geo-replication
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: sku
  }
  properties: {
    accessTier: 'Hot'
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowCrossTenantReplication: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      // The function (Flex Consumption without VNet integration) and Event
      // Grid reach the account over its public endpoint; only Entra-
      // authenticated requests are accepted (no shared key, no SAS).
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: { enabled: true, keyType: 'Account' }
        file: { enabled: true, keyType: 'Account' }
        queue: { enabled: true, keyType: 'Account' }
        table: { enabled: true, keyType: 'Account' }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: softDeleteDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: softDeleteDays
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deadLetterContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource findingsTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: tableName
}

output accountName string = account.name
output accountId string = account.id
output blobEndpoint string = account.properties.primaryEndpoints.blob
output tableEndpoint string = account.properties.primaryEndpoints.table
output deploymentContainerName string = deploymentContainer.name
output deadLetterContainerName string = deadLetterContainer.name
output tableName string = findingsTable.name
