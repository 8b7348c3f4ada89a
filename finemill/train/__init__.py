"""finemill.train"""
