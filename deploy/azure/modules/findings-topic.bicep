// The Event Grid topic driftwatch publishes findings to (CloudEvents 1.0,
// type driftwatch.finding; shared/publish/eventgrid). Subscribers (Logic
// Apps, Sentinel playbooks, webhooks) add their own event subscriptions.
// Local (key and SAS) authentication is off: the function publishes with
// its managed identity, to which functionapp.bicep grants EventGrid Data
// Sender on this topic.

param name string
param location string
param tags object = {}

resource topic 'Microsoft.EventGrid/topics@2022-06-15' = {
  // checkov:skip=CKV_AZURE_193:publisher (the function) and subscribers are outside any VNet; local auth is off, so publishing needs an Entra token with EventGrid Data Sender
  name: name
  location: location
  tags: tags
  identity: {
    type: 'None'
  }
  properties: {
    inputSchema: 'CloudEventSchemaV1_0'
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
  }
}

output name string = topic.name
output id string = topic.id
output endpoint string = topic.properties.endpoint
