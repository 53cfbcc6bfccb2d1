using 'main.bicep'

param location = 'westeurope'

param computeCpuClusterVmSize = 'Standard_D4s_v5'
