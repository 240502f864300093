"""godseye.plan"""
