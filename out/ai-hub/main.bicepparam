using 'main.bicep'

param location = 'swedencentral'

param computeCpuClusterVmSize = 'Standard_D4s_v5'
