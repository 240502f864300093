"""godseye.policy"""
