// driftwatch for Azure: real-time drift detection on one subscription.
//
// ARM change events (the subscription's Event Grid system topic) are
// delivered to a Function App (Flex Consumption, Go custom handler) that
// re-reads each changed resource through ARM with its managed identity,
// evaluates the Azure rules, keeps findings in Table Storage, announces
// them (Slack, Jira, an Event Grid topic) and, with autoRevert on, reverts
// the safe cases.
//
// Deploy at subscription scope, in two passes, because Event Grid refuses
// an event subscription to a function whose code is not deployed yet:
//
//   az deployment sub create -l <region> -f deploy/azure/main.bicep   (subscribeEvents=false)
//   az functionapp deployment source config-zip ... --src bin/azure-detector.zip
//   az deployment sub create -l <region> -f deploy/azure/main.bicep -p subscribeEvents=true
//
// `make azure-deploy` runs the three; docs/azure.md explains each
// parameter.

targetScope = 'subscription'

@description('Region of the resource group and its resources (the system topic is global).')
param location string = deployment().location

@description('Base name of the resources; names get a suffix unique to the subscription and resource group.')
@minLength(2)
@maxLength(12)
param name string = 'driftwatch'

@description('Resource group to create (or update) for driftwatch.')
param resourceGroupName string = 'rg-${name}'

param tags object = {
  app: 'driftwatch'
}

@description('on: grant the write roles the remediations need, and let the detector revert; off: report only.')
@allowed([
  'on'
  'off'
])
param autoRevert string = 'off'

@description('on (with autoRevert on): let the detector delete role assignments that a rule opts in to reverting (never create any).')
@allowed([
  'on'
  'off'
])
param revertRoleAssignments string = 'off'

@description('Create the Event Grid event subscriptions (second pass, once the function code is deployed).')
param subscribeEvents bool = false

@description('Create an Event Grid topic and publish findings to it as CloudEvents.')
param publishFindings bool = true

@description('Reference the Slack bot token secret (slack-token) from the app settings.')
param slack bool = false

@description('Slack bot token to store in the vault; empty keeps the stored one.')
@secure()
param slackToken string = ''

@description('Reference the Jira API token secret (jira-api-token) from the app settings.')
param jira bool = false

@description('Jira API token to store in the vault; empty keeps the stored one.')
@secure()
param jiraApiToken string = ''

@description('More app settings for the detector (name: value), e.g. DRIFTWATCH_SLACK_CHANNEL.')
param appSettings object = {}

@description('Name of the Event Grid-triggered function in the package.')
param functionName string = 'DriftOnResourceEvent'

@allowed([
  'debug'
  'info'
  'warn'
  'error'
])
param logLevel string = 'info'

@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 512

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: resourceGroupName
  location: location
  tags: tags
}

var suffix = uniqueString(subscription().id, resourceGroupName, name)
var compact = toLower(replace(name, '-', ''))

module storage 'modules/storage.bicep' = {
  scope: rg
  name: 'driftwatch-storage'
  params: {
    name: take('${compact}${suffix}', 24)
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  scope: rg
  name: 'driftwatch-monitoring'
  params: {
    name: '${name}-${suffix}'
    location: location
    tags: tags
  }
}

module vault 'modules/keyvault.bicep' = {
  scope: rg
  name: 'driftwatch-keyvault'
  params: {
    name: take('kv-${compact}-${suffix}', 24)
    location: location
    tags: tags
    slackToken: slackToken
    jiraApiToken: jiraApiToken
  }
}

module findingsTopic 'modules/findings-topic.bicep' = if (publishFindings) {
  scope: rg
  name: 'driftwatch-findings-topic'
  params: {
    name: 'evgt-${name}-findings-${suffix}'
    location: location
    tags: tags
  }
}

module app 'modules/functionapp.bicep' = {
  scope: rg
  name: 'driftwatch-function'
  params: {
    name: 'func-${name}-${suffix}'
    location: location
    tags: tags
    storageAccountName: storage.outputs.accountName
    deploymentContainerName: storage.outputs.deploymentContainerName
    tableName: storage.outputs.tableName
    tableEndpoint: storage.outputs.tableEndpoint
    insightsConnectionString: monitoring.outputs.connectionString
    vaultName: vault.outputs.name
    slack: slack
    jira: jira
    findingsTopicName: publishFindings ? findingsTopic.outputs.name : ''
    findingsTopicEndpoint: publishFindings ? findingsTopic.outputs.endpoint : ''
    autoRevert: autoRevert
    logLevel: logLevel
    appSettings: appSettings
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
  }
}

module roles 'modules/subscription-roles.bicep' = {
  name: 'driftwatch-subscription-roles'
  params: {
    principalId: app.outputs.principalId
    autoRevert: autoRevert
    revertRoleAssignments: revertRoleAssignments
  }
}

module events 'modules/events.bicep' = {
  scope: rg
  name: 'driftwatch-events'
  params: {
    topicName: 'evgst-${name}-arm-${suffix}'
    tags: tags
    storageAccountName: storage.outputs.accountName
    deadLetterContainerName: storage.outputs.deadLetterContainerName
    functionAppId: app.outputs.id
    functionName: functionName
    subscribe: subscribeEvents
  }
}

output resourceGroupName string = rg.name
output functionAppName string = app.outputs.name
output functionPrincipalId string = app.outputs.principalId
output storageAccountName string = storage.outputs.accountName
output keyVaultName string = vault.outputs.name
output findingsTopicEndpoint string = publishFindings ? findingsTopic.outputs.endpoint : ''
output systemTopicName string = events.outputs.topicName
output eventSubscriptions array = subscribeEvents ? events.outputs.subscriptionNames : []
output subscriptionRoles array = roles.outputs.roles
