using 'main.bicep'

param location = 'swedencentral'
