using 'main.bicep'

param location = 'westeurope'

param computeFraudCiAnnaVmSize = 'Standard_E4ds_v5'
