using 'main.bicep'

param location = 'westeurope'

param computeChurnTrainVmSize = 'Standard_NC4as_T4_v3'
