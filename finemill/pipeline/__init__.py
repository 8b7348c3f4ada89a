"""finemill.pipeline"""
