import torch

# As seqnet-train does (config `flush_denormal`): tiny losses otherwise make CPU kernels crawl.
torch.set_flush_denormal(True)
