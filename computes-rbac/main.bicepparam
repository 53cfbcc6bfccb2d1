using 'main.bicep'

param location = 'westeurope'

param computeCiAliceVmSize = 'Standard_D4s_v5'

param computeCpuClusterVmSize = 'Standard_D4s_v5'

param computeGpuClusterVmSize = 'Standard_NC4as_T4_v3'
